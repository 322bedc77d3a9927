"""Events about one recipient unit go to the issuing office and to that unit only.

Before: an addressee's integration token (``integration`` + ``unit_officer``) read in ``/v1/events``
the ``delivery.status_changed`` events of every other addressee, with their reasons, and their
``delivery.reply_received`` (the reply's code, subject and hash); its webhooks received them too,
while ``/v1/directives/{id}/recipients`` listed its own delivery only. And the feed filtered a
fetched page in Python, so a page came back short (or empty) while visible events remained.

Here: a letter to two units (SNV, X31299), each unit's delivery moved through four statuses
(interleaved), a reply from SNV, and an event about a document a partner sent to the Office.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from directive_testing import Actors
from security_testing import SyncApi, letter_to
from sqlalchemy import create_engine, make_url, select, text

from common.db import transaction, utc_now
from common.outbox import Relay
from common.testing import TokenFactory
from directive_api.cli import alembic_config
from directive_api.deliveries import repository as deliveries_repository
from directive_api.deliveries.service import apply_status
from directive_api.directives.models import Directive
from directive_api.events.models import OUTBOX, OutboxEvent, WebhookDelivery
from directive_api.events.service import emit_event, emit_received_event
from directive_api.events.visibility import webhook_audience

UNITS = ("SNV", "X31299")
STATUSES = ("01", "03", "05", "06")
HOOK = "http://127.0.0.1:9"


def _issue_to_both(api: SyncApi, actors: Actors) -> dict[str, Any]:
    body = letter_to(UNITS[0])
    body["addressees"].append({"unit": UNITS[1]})
    response = api.request("POST", "/v1/directives", json=body, headers=actors.drafter)
    assert response.status_code == 201, response.text
    doc: dict[str, Any] = response.json()
    for action, who in (("submit", actors.drafter), ("approve", actors.signer), ("issue", actors.clerk)):
        response = api.request("POST", f"/v1/directives/{doc['id']}/{action}", headers={**who, "If-Match": doc["etag"]})
        assert response.status_code == 200, response.text
        doc = response.json()
    response = api.request(
        "POST", f"/v1/directives/{doc['id']}/dispatch", headers={**actors.clerk, "If-Match": doc["etag"]}
    )
    assert response.status_code == 200, response.text
    dispatched: dict[str, Any] = response.json()
    return dispatched


def _progress(api: SyncApi, directive_id: str, *, partner: bool = True) -> None:
    """Both units' deliveries move through the statuses, interleaved; SNV replies; a partner sends
    the Office a document (an event only, unless ``partner`` is false)."""

    async def run() -> None:
        at = utc_now()
        async with transaction(api.app.state.sessionmaker) as session:
            directive = await session.get(Directive, uuid.UUID(directive_id))
            assert directive is not None
            deliveries = {d.unit_code: d for d in await deliveries_repository.deliveries_of(session, directive.id)}
            assert set(UNITS) <= set(deliveries)
            for step, status in enumerate(STATUSES):
                for unit in UNITS:
                    changed = await apply_status(
                        session,
                        deliveries[unit],
                        status=status,
                        reason=f"Văn thư {unit}: bước {step}",
                        source="edxml",
                        at=at + timedelta(minutes=step),
                        directive=directive,
                    )
                    assert changed
            emit_event(
                session,
                "delivery.reply_received",
                directive,
                unit_code=UNITS[0],
                reply={
                    "package_id": 1,
                    "sha256": "0" * 64,
                    "subject": "Báo cáo",
                    "code": "20/BC-SNV",
                    "document_id": "x",
                },
            )
            if not partner:
                return
            emit_received_event(
                session,
                "directive.dispatched",
                uuid.uuid4(),
                unit_code="VPUB",
                data={"directive": {"id": "x"}, "addressees": [], "information_recipients": []},
                occurred_at=at,
            )

    api.runner.run(run())


def _sequence(api: SyncApi) -> None:
    async def run() -> None:
        async with Relay(api.app.state.sessionmaker, OUTBOX, audience=webhook_audience) as relay:
            await relay.step()

    api.runner.run(run())


def _walk(api: SyncApi, headers: dict[str, str], limit: int) -> list[dict[str, Any]]:
    """Every event the feed gives these headers, page by page; each page but the last is full."""
    after, seen, pages = 0, [], []
    while True:
        response = api.request("GET", "/v1/events", params={"after": after, "limit": limit}, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(len(page["items"]))
        seen += page["items"]
        if page["next_cursor"] == after:
            break
        after = page["next_cursor"]
    filled = [size for size in pages if size]
    assert all(size == limit for size in filled[:-1]), pages  # full pages while visible events remain
    assert pages[-1] == 0 and len(pages) <= len(filled) + 2, pages
    return seen


def _about(event: dict[str, Any]) -> tuple[str, str | None]:
    return event["type"], event["data"].get("unit_code")


@pytest.fixture
def scene(sync_api: SyncApi, actors: Actors, token_factory: TokenFactory) -> dict[str, Any]:
    sync_api.app.state.settings.webhooks.allow_hosts = [HOOK]
    subscriptions = {}
    for name, roles, unit in (
        ("SNV", ["integration", "unit_officer"], "SNV"),
        ("X31299", ["integration", "unit_officer"], "X31299"),
        ("office", ["integration"], "VPUB"),
    ):
        created = sync_api.request(
            "POST",
            "/v1/webhook-subscriptions",
            json={"url": f"{HOOK}/{name}"},
            headers=token_factory.headers(f"eo-{name}", roles, unit),
        )
        assert created.status_code == 201, created.text
        subscriptions[name] = created.json()["subscription"]["id"]
    doc = _issue_to_both(sync_api, actors)
    _progress(sync_api, doc["id"])
    _sequence(sync_api)
    return {"doc": doc, "subscriptions": subscriptions}


def test_each_unit_sees_its_own_delivery_events_and_the_documents(
    sync_api: SyncApi, token_factory: TokenFactory, scene: dict[str, Any]
) -> None:
    office = token_factory.headers("eoffice-vpub", ["integration"], "VPUB")
    everything = _walk(sync_api, office, 1000)
    ours = [e for e in everything if e["subject"] == scene["doc"]["id"]]
    assert len(ours) == 2 + len(STATUSES) * len(UNITS) + 1  # issued, dispatched, statuses, the reply
    assert [e["sequence"] for e in everything] == sorted(e["sequence"] for e in everything)
    received = [e for e in everything if e["subject"] != scene["doc"]["id"]]
    assert [e["type"] for e in received] == ["directive.dispatched"]  # the Office's own received document

    for unit in UNITS:
        other = next(u for u in UNITS if u != unit)
        expected = [e["id"] for e in ours if e["data"].get("unit_code") in (None, unit)]
        for roles in (["integration", "unit_officer"], ["unit_officer", "clerk"]):
            headers = token_factory.headers(f"eoffice-{unit.lower()}", roles, unit)
            for limit in (1, 2, 3, 1000):
                fed = _walk(sync_api, headers, limit)
                assert [e["id"] for e in fed] == expected, (unit, roles, limit)
            assert not [e for e in fed if e["data"].get("unit_code") == other]
            assert f"Văn thư {other}" not in str(fed)  # the other unit's reasons
            assert ("20/BC-SNV" in str(fed)) == (unit == "SNV")  # and its reply
        # its own deliveries' progress, its reply (SNV), and the document-level events
        kinds = sorted(_about(e) for e in fed)
        assert kinds.count(("delivery.status_changed", unit)) == len(STATUSES)
        assert (("delivery.reply_received", unit) in kinds) == (unit == "SNV")
        assert ("directive.issued", None) in kinds and ("directive.dispatched", None) in kinds

    # the Office sees every unit's progress; the office roles of another unit see nothing
    assert {_about(e) for e in ours} >= {("delivery.status_changed", u) for u in UNITS}
    assert _walk(sync_api, token_factory.headers("snv-admin", ["admin", "auditor"], "SNV"), 5) == []
    # a received document: only the office roles of the unit it was sent to
    assert received[0]["id"] not in {
        e["id"] for e in _walk(sync_api, token_factory.headers("s", ["integration", "unit_officer"], "SNV"), 5)
    }


def test_webhooks_of_a_unit_get_its_own_delivery_events_only(
    sync_api: SyncApi, token_factory: TokenFactory, scene: dict[str, Any]
) -> None:
    """Through the relay: a delivery row exists only for what the subscription's owner may see."""

    async def deliveries() -> dict[str, set[str]]:
        async with sync_api.app.state.sessionmaker() as session:
            rows = (await session.scalars(select(WebhookDelivery))).all()
        out: dict[str, set[str]] = {}
        for row in rows:
            out.setdefault(row.subscription_id, set()).add(row.event_id)
        return out

    delivered = sync_api.runner.run(deliveries())
    office = _walk(sync_api, token_factory.headers("eoffice-vpub", ["integration"], "VPUB"), 1000)
    subs = scene["subscriptions"]
    assert len(office) == 2 + len(STATUSES) * len(UNITS) + 1 + 1
    assert delivered[subs["office"]] == {e["id"] for e in office}
    for unit in UNITS:
        expected = {
            e["id"] for e in office if e["subject"] == scene["doc"]["id"] and e["data"].get("unit_code") in (None, unit)
        }
        assert delivered[subs[unit]] == expected, unit
    snv_reasons = {e["id"] for e in office if e["data"].get("unit_code") == "SNV"}
    assert snv_reasons and delivered[subs["X31299"]].isdisjoint(snv_reasons)


# --- migration 0012_hfeed: the backfill gives what emitting gives, on both databases ----------------

RECEIVED = text(
    "INSERT INTO received_documents (id, sender_organ_id, unit_code, document_id, business_doc_type, subject,"
    " sha256, size, status, received_at) VALUES (:id, '000.00.01.H13', 'SNV', '000.00.01.H13,2026/12/01,07/VPUB',"
    " 0, 'V/v báo cáo kết quả', 'ab', 1, '01', '2026-12-01 10:00:00+00:00')"
)


def test_the_backfill_gives_what_emitting_gives(sync_api: SyncApi, actors: Actors, database_url: str) -> None:
    url = make_url(database_url)
    sync = url.set(drivername="sqlite" if url.get_backend_name() == "sqlite" else "postgresql+psycopg")
    doc = _issue_to_both(sync_api, actors)
    _progress(sync_api, doc["id"], partner=False)
    received = uuid.uuid4()
    engine = create_engine(sync)
    with engine.begin() as connection:
        connection.execute(RECEIVED, {"id": received.hex if url.get_backend_name() == "sqlite" else str(received)})

    async def emit_and_read() -> list[tuple[str, str, uuid.UUID | None, str | None]]:
        async with transaction(sync_api.app.state.sessionmaker) as session:
            emit_received_event(
                session, "directive.recalled", received, unit_code="SNV", data={"reason": "x"}, occurred_at=utc_now()
            )
        async with sync_api.app.state.sessionmaker() as session:
            rows = await session.execute(
                select(OutboxEvent.id, OutboxEvent.type, OutboxEvent.directive_id, OutboxEvent.unit_code)
            )
            return sorted(tuple(row) for row in rows)

    emitted = sync_api.runner.run(emit_and_read())
    assert {(t, u) for _i, t, _d, u in emitted} >= {
        ("delivery.status_changed", "SNV"),
        ("delivery.status_changed", "X31299"),
        ("delivery.reply_received", "SNV"),
        ("directive.issued", None),
        ("directive.recalled", "SNV"),  # the received document's, sent to SNV
    }
    sync_api.runner.run(sync_api.app.state.engine.dispose())
    config = alembic_config(database_url)
    try:
        command.downgrade(config, "0011_h18r")
        command.upgrade(config, "0012_hfeed")
        with engine.begin() as connection:
            rows = connection.execute(text("SELECT id, type, directive_id, unit_code FROM outbox_events")).all()
        backfilled = sorted((i, t, uuid.UUID(str(d)) if d is not None else None, u) for i, t, d, u in rows)
        assert backfilled == emitted
    finally:
        command.upgrade(config, "head")
        engine.dispose()
