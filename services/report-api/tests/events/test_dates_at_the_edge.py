"""Dates at the edges of the calendar: refused where they enter, never a 500, poison events dead-lettered.

A due date of 9999-12-31 used to answer 500 (``OverflowError`` in the reminder ladder) on every
delivery of the dispatch event, and an extension to the end of the calendar answered 500 at approval
and left the pending request blocking every later one (409).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from report_testing import Api, directive_payload, dispatched, event, fake_feed, seed_compliance, small_addressees
from sqlalchemy import func, select

from common.db import transaction
from report_api.events.models import DEAD_LETTER, FeedCursor, ReceivedEvent
from report_api.events.service import sync_from_feed
from report_api.obligations.models import ExtensionRequest, Obligation
from report_api.reminders.models import Timer


async def _count(app: FastAPI, model: Any) -> int:
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def _with_due(due: str) -> dict[str, Any]:
    return {**seed_compliance(), "deadline_working_days": None, "due_date": due}


@pytest.mark.parametrize(
    "directive",
    [
        pytest.param({"compliance": _with_due("9999-12-31")}, id="due 9999-12-31"),
        pytest.param({"compliance": _with_due("0001-01-01")}, id="due 0001-01-01"),
        pytest.param({"compliance": _with_due("2040-01-01")}, id="due beyond five years"),
        pytest.param({"issued_on": date(9999, 12, 24)}, id="issued 9999-12-24"),
    ],
)
async def test_a_dispatch_with_dates_off_the_calendar_is_refused_with_a_reason(
    api: Api, app: FastAPI, directive: dict[str, Any]
) -> None:
    envelope = dispatched(directive_payload(**directive), small_addressees())
    for _ in range(2):  # the same answer on every delivery; nothing half-written
        response = await api.deliver(envelope)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["reason"] == "date_out_of_range" and "five years" in problem["detail"]
    assert await _count(app, Obligation) == 0
    assert await _count(app, Timer) == 0
    assert await _count(app, ReceivedEvent) == 0


async def test_a_due_date_near_the_horizon_is_still_accepted(api: Api) -> None:
    directive = await api.dispatch(compliance=_with_due("2031-06-30"))
    ob = await api.obligation_of("SNV", directive["id"])
    assert ob["due_on"] == "2031-06-30"


@pytest.mark.parametrize("requested", ["9999-12-31", "2032-01-01"])
async def test_an_extension_beyond_the_horizon_is_422_and_blocks_nothing(api: Api, requested: str) -> None:
    directive = await api.dispatch()
    ob = await api.obligation_of("X31299", directive["id"])
    officer = api.actors.unit_officer("X31299")
    url = f"/v1/obligations/{ob['id']}/extension-requests"
    refused = await api.client.post(url, json={"requested_due_on": requested, "reason": "x"}, headers=officer)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    # nothing pending: a sensible request goes through and is approved
    req = await api.ok("POST", url, officer, {"requested_due_on": "2027-01-15", "reason": "Chờ số liệu"}, 201)
    decided = await api.ok("POST", f"{url}/{req['id']}/decision", api.actors.monitor, {"decision": "approve"})
    assert decided["approved_due_on"] == "2027-01-15"


async def test_approving_a_stored_request_at_the_end_of_the_calendar_is_422_not_500(api: Api, app: FastAPI) -> None:
    """A request stored before dates were checked: approval answers 422; the Office can still decide it."""
    directive = await api.dispatch()
    ob = await api.obligation_of("X31299", directive["id"])
    async with transaction(app.state.sessionmaker) as session:
        stored = ExtensionRequest(
            obligation_id=uuid.UUID(ob["id"]),
            requested_due_on=date(9999, 12, 30),
            reason="cũ",
            status="pending",
            requested_by="officer-x31299",
            requested_at=datetime(2026, 11, 27, 3, tzinfo=UTC),
        )
        session.add(stored)
    url = f"/v1/obligations/{ob['id']}/extension-requests/{stored.id}/decision"
    response = await api.client.post(url, json={"decision": "approve"}, headers=api.actors.monitor)
    assert response.status_code == 422, response.text
    assert (await api.get(ob["id"], api.actors.monitor)).json()["due_on"] == ob["due_on"]
    decided = await api.ok("POST", url, api.actors.monitor, {"decision": "approve", "new_due_on": "2027-02-01"})
    assert decided["status"] == "approved" and decided["approved_due_on"] == "2027-02-01"


async def test_a_poison_event_on_the_feed_is_dead_lettered_and_the_feed_goes_on(api: Api, app: FastAPI) -> None:
    poison = directive_payload(compliance=_with_due("9999-12-31"))
    good = directive_payload(notation="08/VPUB-TTĐH")
    events = [
        {**dispatched(poison, small_addressees()), "sequence": 1},
        {**dispatched(good, small_addressees()), "sequence": 2},
    ]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake_feed(events, "t"))) as http:
        applied = await sync_from_feed(
            http,
            "http://directive-api.test",
            "t",
            sessionmaker=app.state.sessionmaker,
            settings=app.state.settings,
            now=api.clock(),
        )
    assert applied == 1
    assert await _count(app, Obligation) == 3
    async with app.state.sessionmaker() as session:
        assert (await session.get(FeedCursor, "directive-api")).cursor == 2  # type: ignore[union-attr]
        dead = await session.get(ReceivedEvent, events[0]["id"])
        assert dead is not None and dead.channel == DEAD_LETTER
    # the dead letter is counted on /metrics (loopback scrape)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://report-api.test") as local:
        metrics = (await local.get("/metrics")).text
    assert "events_dead_lettered 1.0" in metrics
    # the same event arriving by webhook later changes nothing either
    assert (await api.deliver(events[0])).json()["status"] == "duplicate"


async def test_events_other_than_dispatch_are_not_checked_for_dates(api: Api) -> None:
    envelope = event("directive.issued", {"directive": directive_payload(compliance=_with_due("9999-12-31"))})
    assert (await api.deliver(envelope)).status_code == 200
