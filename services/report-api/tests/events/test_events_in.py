"""directive-api's events: signed webhooks, de-duplication, recall/replace, and the pull feed consumer."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI
from report_testing import Api, directive_payload, dispatched, event, fake_feed, small_addressees
from sqlalchemy import func, select

from common.webhooks import generate_secret, signature_headers
from report_api.events.models import FeedCursor, ReceivedEvent
from report_api.events.service import sync_from_feed
from report_api.obligations.models import Obligation
from report_api.reminders.models import Timer


async def _count(app: FastAPI, model: Any) -> int:
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_dispatch_creates_one_obligation_per_addressee_once(api: Api, app: FastAPI) -> None:
    directive = directive_payload(issued_on=date(2026, 2, 5))
    envelope = dispatched(
        directive, [*small_addressees(), {"unit_code": "BAO", "unit_name": "Báo Cần Thơ", "must_act": False}]
    )
    first = await api.deliver(envelope)
    assert first.status_code == 200 and first.json() == {"id": envelope["id"], "status": "applied"}
    again = await api.deliver(envelope)
    assert again.json()["status"] == "duplicate"
    # the same content under a new event id does not create a second obligation per unit either
    assert (await api.deliver({**envelope, "id": "evt_other"})).json()["status"] == "applied"
    assert await _count(app, Obligation) == 3
    ob = await api.obligation_of("X31299", directive["id"])
    # 10 working days from Thu 5/2/2026 skip the weekend and Tết (16–20/2/2026)
    assert ob["due_on"] == "2026-02-26"
    assert await _count(app, Timer) == 3 * 6


async def test_events_of_one_new_directive_arriving_at_once_are_all_applied(api: Api, app: FastAPI) -> None:
    """The relay sends a batch concurrently: events of a directive report-api has not seen yet may race
    to create its record. Every one is applied on its first delivery (no 5xx, no retry needed)."""
    import asyncio

    directive = directive_payload(issued_on=date(2026, 2, 5))
    addressees = [*small_addressees(), {"unit_code": "BAO", "unit_name": "Báo Cần Thơ", "must_act": False}]
    envelopes = [dispatched(directive, addressees) for _ in range(3)]
    envelopes = [{**e, "id": f"evt_race_{i}"} for i, e in enumerate(envelopes)]
    responses = await asyncio.gather(*(api.deliver(e) for e in envelopes))
    assert [(r.status_code, r.json()["status"]) for r in responses] == [(200, "applied")] * 3
    assert await _count(app, Obligation) == 3
    assert await _count(app, Timer) == 3 * 6


async def test_due_date_wins_and_moves_off_a_day_off(api: Api) -> None:
    compliance = {
        "due_date": "2026-02-17",
        "report_fields": [{"key": "n", "label": "Số", "type": "non_negative_integer", "required": True}],
    }
    directive = await api.dispatch(compliance=compliance)
    ob = await api.obligation_of("SNV", directive["id"])
    assert ob["due_on"] == "2026-02-23"  # 17/2/2026 is Tết: the next working day


async def test_bad_signatures_are_refused_and_change_nothing(api: Api, app: FastAPI) -> None:
    envelope = dispatched(directive_payload(), small_addressees())
    body = json.dumps(envelope).encode()
    now = int(api.clock().timestamp())
    wrong = signature_headers(generate_secret(), envelope["id"], body, timestamp=now)
    response = await api.client.post("/v1/inbox/events", content=body, headers=wrong)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["reason"] == "no_matching_signature"
    old = signature_headers(api.secret, envelope["id"], body, timestamp=now - 3600)
    assert (await api.client.post("/v1/inbox/events", content=body, headers=old)).json()[
        "reason"
    ] == "timestamp_too_old"
    tampered = signature_headers(api.secret, envelope["id"], body, timestamp=now)
    response = await api.client.post("/v1/inbox/events", content=body.replace(b"X31299", b"X31300"), headers=tampered)
    assert response.status_code == 401
    mismatched = signature_headers(api.secret, "evt_not_the_body_id", body, timestamp=now)
    assert (await api.client.post("/v1/inbox/events", content=body, headers=mismatched)).status_code == 400
    unsigned = await api.client.post("/v1/inbox/events", content=body, headers=api.actors.monitor)
    assert unsigned.status_code == 401
    assert await _count(app, Obligation) == 0
    assert await _count(app, ReceivedEvent) == 0


async def test_invalid_event_data_is_refused_without_effect(api: Api, app: FastAPI) -> None:
    envelope = event("directive.dispatched", {"directive": {"id": "x"}, "addressees": "nope"})
    response = await api.deliver(envelope)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert await _count(app, ReceivedEvent) == 0


async def test_recall_and_replace_close_open_obligations(api: Api) -> None:
    directive = await api.dispatch()
    ob = await api.obligation_of("X31299", directive["id"])
    await api.acknowledge(ob["id"], "X31299")
    response = await api.deliver(event("directive.recalled", {"directive": directive, "reason": "Ban hành nhầm"}))
    assert response.json()["status"] == "applied"
    after = (await api.get(ob["id"], api.actors.unit_officer("X31299"))).json()
    assert after["status"] == "recalled" and after["history"][-1]["comment"] == "Ban hành nhầm"
    assert after["directive"]["status"] == "recalled"
    # a late dispatch of the recalled document creates nothing
    assert (await api.deliver(dispatched(directive, small_addressees()))).json()["status"] == "applied"
    assert (await api.obligation_of("X31299", directive["id"]))["status"] == "recalled"

    old = await api.dispatch(notation="05/VPUB-TTĐH")
    old_ob = await api.obligation_of("SNV", old["id"])
    await api.acknowledge(old_ob["id"], "SNV")
    await api.submit(
        old_ob["id"],
        "SNV",
        {"facebook_followers": 1, "zalo_followers": 1, "posts_shared": 0, "website_links_portal": False},
    )
    accepted_ob = await api.obligation_of("P31120", old["id"])
    await api.acknowledge(accepted_ob["id"], "P31120")
    await api.submit(
        accepted_ob["id"],
        "P31120",
        {"facebook_followers": 1, "zalo_followers": 1, "posts_shared": 0, "website_links_portal": False},
    )
    await api.review(accepted_ob["id"], "accept")
    new = directive_payload(notation="06/VPUB-TTĐH")
    await api.deliver(event("directive.replaced", {"directive": old, "replaced_by": new}))
    assert (await api.obligation_of("SNV", old["id"]))["status"] == "superseded"
    assert (await api.obligation_of("P31120", old["id"]))["status"] == "accepted"  # closed ones stay
    await api.deliver(dispatched(new, small_addressees()))
    # the pending report is carried over to the replacement (test_carry_over.py has the details)
    assert (await api.obligation_of("SNV", new["id"]))["status"] == "submitted"


async def test_pull_consumer_applies_the_feed_once_and_keeps_its_cursor(api: Api, app: FastAPI) -> None:
    directive = directive_payload()
    other = directive_payload(notation="07/VPUB-TTĐH")
    events = [
        {**dispatched(directive, small_addressees()), "sequence": 1},
        {**event("directive.issued", {"directive": other}), "sequence": 2},
        {**dispatched(other, small_addressees()[:1]), "sequence": 3},
        {**event("directive.recalled", {"directive": other, "reason": "thu hồi"}), "sequence": 4},
    ]
    feed = fake_feed(events, "feed-token")
    transport = httpx.ASGITransport(app=feed)
    async with httpx.AsyncClient(transport=transport) as http:
        kwargs: dict[str, Any] = {
            "sessionmaker": app.state.sessionmaker,
            "settings": app.state.settings,
            "now": api.clock(),
        }
        applied = await sync_from_feed(http, "http://directive-api.test", "feed-token", limit=3, **kwargs)
        assert applied == 4
        assert await _count(app, Obligation) == 4
        assert (await api.obligation_of("X31299", other["id"]))["status"] == "recalled"
        async with app.state.sessionmaker() as session:
            assert (await session.get(FeedCursor, "directive-api")).cursor == 4  # type: ignore[union-attr]
        # the same event also arriving by webhook is a duplicate
        assert (await api.deliver(events[0])).json()["status"] == "duplicate"
        assert await sync_from_feed(http, "http://directive-api.test", "feed-token", **kwargs) == 0
        events.append({**event("directive.recalled", {"directive": directive}), "sequence": 5})
        assert await sync_from_feed(http, "http://directive-api.test", "feed-token", **kwargs) == 1
    assert (await api.obligation_of("SNV", directive["id"]))["status"] == "recalled"
