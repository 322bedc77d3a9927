"""report-api's event feed and webhooks show each reader the events of its unit's obligations only
(the Office: every unit's), filtered in SQL, with a cursor that passes what the reader may not see.

A ward's e-office integration (P31120) once read the compliance events of every unit.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from fastapi import FastAPI
from pydantic import SecretStr
from report_testing import Api
from sqlalchemy import select, text

from common.db import create_engine, transaction
from common.outbox import Relay
from common.webhooks import generate_secret
from report_api.cli import alembic_config, migrate
from report_api.events.models import OUTBOX, OutboxEvent, WebhookDelivery, WebhookSubscription
from report_api.events.service import webhook_audience
from report_api.workers import ensure_directive_api_subscription

UNITS = ("X31299", "SNV", "P31120")


async def _acknowledge_all(api: Api, directive: dict[str, Any], units: tuple[str, ...] = UNITS) -> None:
    for unit in units:
        await api.acknowledge((await api.obligation_of(unit, directive["id"]))["id"], unit)
    await api.sequence_events()


async def _read_all(api: Api, headers: dict[str, str], after: int = 0, limit: int = 100) -> tuple[list[Any], int]:
    """Every page from ``after``; returns the items and the last cursor (a page at the end: null)."""
    items: list[Any] = []
    for _ in range(50):
        page = await api.ok("GET", f"/v1/events?after={after}&limit={limit}", headers)
        items += page["items"]
        if page["next_cursor"] is None:
            return items, after
        assert page["next_cursor"] > after
        after = page["next_cursor"]
    raise AssertionError("the feed does not end")


async def test_the_feed_shows_a_unit_its_own_events_and_the_office_all(api: Api) -> None:
    directive = await api.dispatch()
    await _acknowledge_all(api, directive)
    everything = {(e["type"], e["data"]["unit_code"]) for e in (await _read_all(api, api.actors.integration))[0]}
    assert everything == {("obligation.acknowledged", u) for u in UNITS}
    for office in (api.actors.monitor, api.actors.admin):
        assert len((await _read_all(api, office))[0]) == 3

    ward = api.actors.unit_integration("P31120")
    items, _cursor = await _read_all(api, ward)
    assert [(e["type"], e["data"]["unit_code"]) for e in items] == [("obligation.acknowledged", "P31120")]

    # not feed readers: unit officers (also of the Office's unit), a monitor of another unit, and an
    # integration whose token names no unit (nothing would scope what it reads)
    for stranger in (
        api.actors.unit_officer("P31120"),
        api.actors.unit_officer("VPUB"),
        api.actors.foreign_monitor,
        api.actors.tokens.headers("eoffice-x", ["integration"], None),
    ):
        refused = await api.client.get("/v1/events", headers=stranger)
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
        assert "P31120" not in refused.text.replace("unit_officer", "")


async def test_a_scoped_cursor_passes_other_units_events_and_misses_none(api: Api) -> None:
    ward = api.actors.unit_integration("P31120")
    assert (await api.ok("GET", "/v1/events", ward)) == {"items": [], "next_cursor": None}
    first = await api.dispatch()
    await _acknowledge_all(api, first, ("X31299", "SNV"))  # sequences 1, 2: not the ward's
    page = await api.ok("GET", "/v1/events?after=0&limit=1", ward)
    # nothing to show, but the cursor moves past what the ward may not read (no loop over them)
    assert page == {"items": [], "next_cursor": 2}
    assert (await api.ok("GET", "/v1/events?after=2", ward)) == {"items": [], "next_cursor": None}

    await _acknowledge_all(api, first, ("P31120",))  # 3
    second = await api.dispatch()
    await _acknowledge_all(api, second, ("SNV", "P31120", "X31299"))  # 4, 5, 6
    # the filter is in SQL: a page of one holds one of the ward's events, however many others precede it
    page = await api.ok("GET", "/v1/events?after=2&limit=1", ward)
    assert [(e["sequence"], e["data"]["unit_code"]) for e in page["items"]] == [(3, "P31120")]
    assert page["next_cursor"] == 3
    page = await api.ok("GET", "/v1/events?after=3&limit=1", ward)
    assert [(e["sequence"], e["subject"]) for e in page["items"]] == [
        (5, (await api.obligation_of("P31120", second["id"]))["id"])
    ]
    assert page["next_cursor"] == 5
    page = await api.ok("GET", "/v1/events?after=5&limit=1", ward)
    assert page == {"items": [], "next_cursor": 6}

    # read from the start in pages of any size: the same events, in order, each once
    for limit in (1, 2, 100):
        items, cursor = await _read_all(api, ward, limit=limit)
        assert [e["sequence"] for e in items] == [3, 5] and cursor == 6
    office, cursor = await _read_all(api, api.actors.integration, limit=2)
    assert [e["sequence"] for e in office] == [1, 2, 3, 4, 5, 6] and cursor == 6


async def test_webhooks_carry_what_the_owners_unit_reads(api: Api, app: FastAPI) -> None:
    """The relay's audience is the feed's rule: the ward's subscription gets the ward's events, the
    Office's every event, the configured subscriber (directive-api's inbox) every event."""
    settings = app.state.settings
    settings.webhooks.allow_hosts = ["http://127.0.0.1:9"]
    settings.directive_api_inbox_url = "http://127.0.0.1:9/inbox"
    settings.directive_api_inbox_secret = SecretStr(generate_secret())
    assert await ensure_directive_api_subscription(app.state.sessionmaker, settings)
    subscribers = {
        "ward": api.actors.unit_integration("P31120"),
        "snv": api.actors.unit_integration("SNV"),
        "office": api.actors.integration,
        "admin": api.actors.admin,
    }
    ids = {}
    for name, headers in subscribers.items():
        created = await api.ok("POST", "/v1/webhook-subscriptions", headers, {"url": "http://127.0.0.1:9/h"}, 201)
        ids[name] = created["subscription"]["id"]
    # the configured subscriber is not anyone's: listed to the Office's admin only
    listed = {s["owner"]: s for s in await api.ok("GET", "/v1/webhook-subscriptions", api.actors.admin)}
    assert listed["directive-api"]["system"] is True
    assert [s["id"] for s in await api.ok("GET", "/v1/webhook-subscriptions", subscribers["ward"])] == [ids["ward"]]

    directive = await api.dispatch()
    for unit in UNITS:
        await api.acknowledge((await api.obligation_of(unit, directive["id"]))["id"], unit)
    async with (
        Relay(app.state.sessionmaker, OUTBOX, settings.webhooks, audience=webhook_audience(settings)) as relay,
        transaction(app.state.sessionmaker) as session,
    ):
        assert await relay.fan_out(session) == 3

    async def units_of(name: str) -> list[str]:
        page = await api.ok("GET", f"/v1/webhook-subscriptions/{ids[name]}/deliveries", subscribers[name])
        async with app.state.sessionmaker() as session:
            events = {e.id: e.unit_code for e in (await session.scalars(select(OutboxEvent))).all()}
        return sorted(events[d["event_id"]] for d in page["items"])

    assert await units_of("ward") == ["P31120"]
    assert await units_of("snv") == ["SNV"]
    assert await units_of("office") == sorted(UNITS)
    assert await units_of("admin") == sorted(UNITS)
    async with app.state.sessionmaker() as session:
        system_id = await session.scalar(select(WebhookSubscription.id).where(WebhookSubscription.system.is_(True)))
        configured = await session.scalars(select(WebhookDelivery).where(WebhookDelivery.subscription_id == system_id))
        assert len(configured.all()) == 3
    # another unit's subscription and its deliveries stay hidden from the ward
    for path in (
        f"/v1/webhook-subscriptions/{ids['snv']}/deliveries",
        f"/v1/webhook-subscriptions/{system_id}/deliveries",
    ):
        assert (await api.client.get(path, headers=subscribers["ward"])).status_code == 404


def test_the_migration_backfills_the_unit_of_existing_events(database_url: str) -> None:
    async def run(sql: str) -> list[tuple[object, ...]]:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(sql))
                return [tuple(row) for row in result.fetchall()] if result.returns_rows else []
        finally:
            await engine.dispose()

    command.downgrade(alembic_config(database_url), "0006_a15r")
    asyncio.run(
        run(
            "INSERT INTO outbox_events (id, sequence, type, source, subject, data, occurred_at) VALUES "
            "('evt_1', 1, 'obligation.acknowledged', 'report-api', 'o1', "
            """'{"unit_code": "P31120", "obligation_id": "o1"}', CURRENT_TIMESTAMP)"""
        )
    )
    asyncio.run(
        run(
            "INSERT INTO webhook_subscriptions (id, owner, url, event_types, secrets, active, created_at, owner_unit) "
            "VALUES ('whs_1', 'directive-api', 'http://d/inbox', '[\"obligation.*\"]', '[]', true, CURRENT_TIMESTAMP, "
            "NULL), ('whs_2', 'eoffice', 'http://e/h', '[\"*\"]', '[]', true, CURRENT_TIMESTAMP, NULL)"
        )
    )
    migrate(database_url)
    assert asyncio.run(run("SELECT id, unit_code FROM outbox_events")) == [("evt_1", "P31120")]
    # a subscription of a client without a unit (made before owners had one) receives nothing now
    assert sorted(asyncio.run(run("SELECT id, system FROM webhook_subscriptions"))) == [
        ("whs_1", True),
        ("whs_2", False),
    ]
