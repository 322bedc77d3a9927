"""The clerk's 03 on a received document reaches report-api: the addressed unit's obligation made
from the ``directive.dispatched`` of that document is acknowledged, once, as if its officer had done
it there, and report-api's own ``obligation.acknowledged`` coming back changes nothing. Both services
run here (report-api on the same backend), and directive-api's outbox events are delivered to
report-api's inbox as its relay posts them (signed envelopes), and back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from directive_testing import Clock
from exchange_testing import INBOX_SECRET, OFFICE, hub_clients, letter
from fastapi import FastAPI
from sqlalchemy import select

from common.outbox.envelope import encode_envelope
from common.settings import DatabaseSettings
from common.testing import PostgresServer, TokenFactory, asgi_client, unique_name
from common.vxp.hub import HubProcess
from common.webhooks import generate_secret, signature_headers
from directive_api.events.models import OutboxEvent
from directive_api.exchange import transport
from report_api.cli import migrate as migrate_report
from report_api.events.models import OutboxEvent as ReportEvent
from report_api.main import create_app as create_report_app
from report_api.settings import Settings as ReportSettings

REPORT_SECRET = generate_secret()


@pytest.fixture
async def report_api(
    request: pytest.FixtureRequest, database_url: str, token_factory: TokenFactory, clock: Clock, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    """report-api of the department, on the backend of this test's directive-api database."""
    server: PostgresServer | None = None
    name = ""
    if database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'report.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        name = unique_name("report_ack")
        url = server.create_database(name)
    migrate_report(url)
    settings = ReportSettings(
        database=DatabaseSettings(url=url, pool_size=5),
        auth=token_factory.auth,
        webhook_secrets=REPORT_SECRET,
        evidence_dir=tmp_path / "evidence",
    )
    application = create_report_app(settings, clock=clock)
    yield application
    await application.state.engine.dispose()
    if server is not None:
        server.drop_database(name)


def _signed(body: bytes, event_id: str, secret: str, clock: Clock | None = None) -> dict[str, str]:
    """Signed as a relay signs: stamped by report-api's clock; directive-api's inbox checks the wall clock."""
    return {
        **signature_headers(secret, event_id, body, timestamp=int(clock().timestamp()) if clock else None),
        "Content-Type": "application/json",
    }


async def _relay(department: FastAPI, report: httpx.AsyncClient, clock: Clock, seen: set[str]) -> list[dict[str, Any]]:
    """directive-api's events not yet posted, posted to report-api's inbox in order; their answers."""
    async with department.state.sessionmaker() as session:
        events = (await session.scalars(select(OutboxEvent).order_by(OutboxEvent.occurred_at, OutboxEvent.id))).all()
    answers = []
    for event in events:
        if event.id in seen:
            continue
        seen.add(event.id)
        body = encode_envelope(event)
        response = await report.post(
            "/v1/inbox/events", content=body, headers=_signed(body, event.id, REPORT_SECRET, clock)
        )
        assert response.status_code == 200, response.text
        answers.append({"type": event.type, **response.json()})
    return answers


async def _obligation(report: httpx.AsyncClient, officer: dict[str, str], directive_id: str) -> dict[str, Any]:
    page = (await report.get("/v1/me/obligations", headers=officer)).json()
    (found,) = [o for o in page["items"] if o["directive"]["id"] == directive_id]
    detail = (await report.get(f"/v1/obligations/{found['id']}", headers=officer)).json()
    return dict(detail)


async def test_the_clerks_03_acknowledges_the_units_obligation_in_report_api_once(
    department: FastAPI, report_api: FastAPI, hub: HubProcess, clock: Clock, token_factory: TokenFactory
) -> None:
    clerk = token_factory.headers("le-minh-tam", ["clerk"], "SNV")
    leader = token_factory.headers("ho-thi-lan", ["signer"], "SNV")
    officer = token_factory.headers("officer-snv", ["unit_officer"], "SNV")
    seen: set[str] = set()
    async with (
        hub_clients(department, hub) as (client, office, snv),
        asgi_client(report_api, "http://report.test") as report,
    ):
        data, _ = letter("31")
        await office.send(data, sender=OFFICE.organ_id, message_type="edoc")
        await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())
        assert [a["type"] for a in await _relay(department, report, clock, seen)] == ["directive.dispatched"]
        (listed,) = (await client.get("/v1/edxml/received", headers=clerk)).json()
        before = await _obligation(report, officer, listed["id"])
        assert (before["status"], before["status_label"]) == ("assigned", "Đã giao, chưa tiếp nhận")
        assert "acknowledge" in before["allowed_actions"]

        clock.now += timedelta(minutes=10)
        url = f"/v1/edxml/received/{listed['id']}/status"
        assert (await client.post(url, json={"code": "03"}, headers=clerk)).status_code == 200
        relayed = await _relay(department, report, clock, seen)
        assert [(a["type"], a["status"]) for a in relayed] == [("delivery.status_changed", "applied")]
        after = await _obligation(report, officer, listed["id"])
        assert (after["status"], after["status_label"]) == ("acknowledged", "Đã tiếp nhận")
        assert "acknowledge" not in after["allowed_actions"]
        (note,) = [h for h in after["history"] if h["action"] == "acknowledge"]
        assert note["comment"] == "Văn thư đã tiếp nhận văn bản đến (trạng thái 03) (le-minh-tam)"

        # The leader's 04 changes nothing more there; the same event again is a duplicate.
        assert (await client.post(url, json={"code": "04"}, headers=leader)).status_code == 200
        assert [a["type"] for a in await _relay(department, report, clock, seen)] == ["delivery.status_changed"]
        again = await _obligation(report, officer, listed["id"])
        assert (again["status"], again["version"]) == ("acknowledged", after["version"])
        async with department.state.sessionmaker() as session:
            first = await session.scalar(
                select(OutboxEvent)
                .where(OutboxEvent.type == "delivery.status_changed")
                .order_by(OutboxEvent.occurred_at, OutboxEvent.id)
            )
            assert first is not None
            body = encode_envelope(first)
        duplicate = await report.post(
            "/v1/inbox/events", content=body, headers=_signed(body, first.id, REPORT_SECRET, clock)
        )
        assert duplicate.json()["status"] == "duplicate"

        # report-api announced the acknowledgement once; posted back to directive-api it sends no second 03.
        async with report_api.state.sessionmaker() as session:
            (acknowledged,) = (
                await session.scalars(select(ReportEvent).where(ReportEvent.type == "obligation.acknowledged"))
            ).all()
            back = encode_envelope(acknowledged)
        answer = await client.post(
            "/v1/inbox/events", content=back, headers=_signed(back, acknowledged.id, INBOX_SECRET)
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["applied"] is False
        assert (await client.get("/v1/edxml/received", headers=clerk)).json()[0]["status"] == "04"


async def test_an_officer_who_acknowledged_first_is_not_overridden_and_our_own_deliveries_are_left_alone(
    department: FastAPI, report_api: FastAPI, hub: HubProcess, clock: Clock, token_factory: TokenFactory
) -> None:
    clerk = token_factory.headers("le-minh-tam", ["clerk"], "SNV")
    officer = token_factory.headers("officer-snv", ["unit_officer"], "SNV")
    seen: set[str] = set()
    async with (
        hub_clients(department, hub) as (client, office, snv),
        asgi_client(report_api, "http://report.test") as report,
    ):
        data, _ = letter("32")
        await office.send(data, sender=OFFICE.organ_id, message_type="edoc")
        await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())
        await _relay(department, report, clock, seen)
        (listed,) = (await client.get("/v1/edxml/received", headers=clerk)).json()
        # A delivery.status_changed about a document we sent (no received_over_exchange) acknowledges nothing.
        event = {
            "id": "evt-own-03",
            "type": "delivery.status_changed",
            "source": "directive-api",
            "subject": listed["id"],
            "data": {
                "directive": {"id": listed["id"], "subject": "x"},
                "unit_code": "SNV",
                "status": "03",
            },
        }
        body = json.dumps(event).encode()
        own = await report.post(
            "/v1/inbox/events", content=body, headers=_signed(body, "evt-own-03", REPORT_SECRET, clock)
        )
        assert own.status_code == 200, own.text
        assert (await _obligation(report, officer, listed["id"]))["status"] == "assigned"

        obligation = await _obligation(report, officer, listed["id"])
        acknowledged = await report.post(f"/v1/obligations/{obligation['id']}/acknowledge", headers=officer)
        assert acknowledged.status_code == 200, acknowledged.text
        url = f"/v1/edxml/received/{listed['id']}/status"
        assert (await client.post(url, json={"code": "03"}, headers=clerk)).status_code == 200
        assert [a["status"] for a in await _relay(department, report, clock, seen)] == ["applied"]
        after = await _obligation(report, officer, listed["id"])
        assert (after["status"], after["version"]) == ("acknowledged", acknowledged.json()["version"])
        assert [h["actor_id"] for h in after["history"] if h["action"] == "acknowledge"] == ["officer-snv"]

        async with report_api.state.sessionmaker() as session:
            found = (
                await session.scalars(select(ReportEvent).where(ReportEvent.type == "obligation.acknowledged"))
            ).all()
            assert len(found) == 1  # the officer's own
