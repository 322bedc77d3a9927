"""A unit's e-office integration token reads only what its unit may read, on every read of directive-api.

report-api let a ward's integration token read every unit's compliance events; this checks that
directive-api has no such hole: the Office's letter to X31299, read with integration tokens of the
Office, of X31299 (alone, and with unit_officer as an e-office carries it), of SNV and of no unit,
through the document list and reads, the recipients, the event feed, the documents received over
the exchange and the webhook subscriptions.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from directive_testing import Actors
from security_testing import ADDRESSED_UNIT, OTHER_UNIT, SyncApi, letter_to
from sqlalchemy import select

from common.db import transaction
from common.outbox import Relay
from common.testing import TokenFactory
from directive_api.events.models import OUTBOX, OutboxEvent, WebhookDelivery
from directive_api.events.visibility import webhook_audience
from directive_api.exchange.models import ReceivedDocument


def _issue_and_dispatch(api: SyncApi, actors: Actors) -> dict[str, Any]:
    response = api.request("POST", "/v1/directives", json=letter_to(ADDRESSED_UNIT), headers=actors.drafter)
    assert response.status_code == 201, response.text
    doc: dict[str, Any] = response.json()
    for action, who in (
        ("submit", actors.drafter),
        ("approve", actors.signer),
        ("issue", actors.clerk),
        ("dispatch", actors.clerk),
    ):
        response = api.request("POST", f"/v1/directives/{doc['id']}/{action}", headers={**who, "If-Match": doc["etag"]})
        assert response.status_code == 200, response.text
        doc = response.json()
    return doc


def _sequence_and_receive(api: SyncApi) -> set[str]:
    """Sequence the events (the relay) and record one document received over the exchange per unit."""

    async def run() -> set[str]:
        async with Relay(api.app.state.sessionmaker, OUTBOX, audience=webhook_audience) as relay:
            await relay.step()
        async with transaction(api.app.state.sessionmaker) as session:
            for unit in (ADDRESSED_UNIT, OTHER_UNIT):
                session.add(
                    ReceivedDocument(
                        id=uuid.uuid4(),
                        sender_organ_id="000.00.09.H13",
                        unit_code=unit,
                        document_id=f"000.00.09.H13,2026/12/01,{unit}",
                        subject=f"Công văn gửi {unit}",
                        sha256=hashlib.sha256(unit.encode()).hexdigest(),
                        size=1,
                    )
                )
        async with api.app.state.sessionmaker() as session:
            return set((await session.scalars(select(OutboxEvent.id))).all())

    return api.runner.run(run())


def test_unit_integrations_read_only_their_units_documents_events_and_receipts(
    sync_api: SyncApi, actors: Actors, token_factory: TokenFactory
) -> None:
    doc = _issue_and_dispatch(sync_api, actors)
    events = _sequence_and_receive(sync_api)
    assert len(events) == 2  # issued, dispatched
    # (the list once answered an e-office of integration and unit_officer with its own unit's issued
    # documents only, while reading the letter addressed to it one by one answered 200)
    t = token_factory
    callers = {
        "office": t.headers("eoffice-vpub", ["integration"], "VPUB"),
        "ward": t.headers("eoffice-x31299", ["integration"], ADDRESSED_UNIT),
        "ward_eoffice": t.headers("eoffice-x31299", ["integration", "unit_officer"], ADDRESSED_UNIT),
        "other": t.headers("eoffice-snv", ["integration"], OTHER_UNIT),
        "other_eoffice": t.headers("eoffice-snv", ["integration", "unit_officer"], OTHER_UNIT),
        "no_unit": t.headers("eoffice-x", ["integration"], None),
    }
    # which callers read the letter: the issuing Office, and the addressed unit as a unit officer
    readers = {"office", "ward_eoffice"}
    for name, headers in callers.items():
        one = sync_api.request("GET", f"/v1/directives/{doc['id']}", headers=headers)
        assert one.status_code == (200 if name in readers else 404), (name, one.status_code)
        listing = sync_api.request("GET", "/v1/directives", headers=headers)
        listed = {d["id"] for d in listing.json()["items"]} if listing.status_code == 200 else set()
        assert listed == ({doc["id"]} if name in readers else set()), (name, listing.status_code)
        recipients = sync_api.request("GET", f"/v1/directives/{doc['id']}/recipients", headers=headers)
        if name in readers:
            units = {r["unit_code"] for r in recipients.json()["items"]}
            assert units == {ADDRESSED_UNIT}, (name, units)  # the letter has one recipient
        else:
            assert recipients.status_code == 404 and "unit_code" not in recipients.text, (name, recipients.status_code)
        feed = sync_api.request("GET", "/v1/events", params={"after": 0, "limit": 1000}, headers=headers)
        fed = {e["id"] for e in feed.json()["items"]} if feed.status_code == 200 else set()
        assert fed == (events if name in readers else set()), (name, feed.status_code)
        # the documents other organisations sent over the exchange are not for integrations to list
        received = sync_api.request("GET", "/v1/edxml/received", headers=headers)
        assert received.status_code == 403, (name, received.status_code)

    # the units' clerks list their own unit's received documents only; the Office's admin all of them
    for unit in (ADDRESSED_UNIT, OTHER_UNIT):
        clerk = t.headers(f"clerk-{unit.lower()}", ["clerk"], unit)
        got = sync_api.request("GET", "/v1/edxml/received", headers=clerk)
        assert got.status_code == 200 and {r["unit_code"] for r in got.json()} == {unit}
    everything = sync_api.request("GET", "/v1/edxml/received", headers=t.headers("admin-vpub", ["admin"], "VPUB"))
    assert {r["unit_code"] for r in everything.json()} == {ADDRESSED_UNIT, OTHER_UNIT}


def test_a_units_subscription_is_its_own_and_carries_its_units_events(
    sync_api: SyncApi, actors: Actors, token_factory: TokenFactory
) -> None:
    sync_api.app.state.settings.webhooks.allow_hosts = ["http://127.0.0.1:9"]
    t = token_factory
    ward = t.headers("eoffice-x31299", ["integration", "unit_officer"], ADDRESSED_UNIT)
    other = t.headers("eoffice-snv", ["integration", "unit_officer"], OTHER_UNIT)
    subs = {}
    for name, headers in (("ward", ward), ("other", other)):
        created = sync_api.request(
            "POST", "/v1/webhook-subscriptions", json={"url": f"http://127.0.0.1:9/{name}"}, headers=headers
        )
        assert created.status_code == 201, created.text
        subs[name] = created.json()["subscription"]["id"]
    _issue_and_dispatch(sync_api, actors)
    events = _sequence_and_receive(sync_api)  # the relay fans out by the read rule

    for name, headers in (("ward", ward), ("other", other)):
        listed = sync_api.request("GET", "/v1/webhook-subscriptions", headers=headers).json()
        assert [s["id"] for s in listed] == [subs[name]]
    # the other unit's integration neither sees nor touches the ward's subscription or its deliveries
    for method, path in (
        ("POST", f"/v1/webhook-subscriptions/{subs['ward']}/rotate-secret"),
        ("DELETE", f"/v1/webhook-subscriptions/{subs['ward']}"),
    ):
        response = sync_api.request(method, path, headers=other)
        assert response.status_code == 404 and "whsec_" not in response.text, (method, path)

    async def delivered(subscription_id: str) -> set[str]:
        async with sync_api.app.state.sessionmaker() as session:
            rows = await session.scalars(
                select(WebhookDelivery.event_id).where(WebhookDelivery.subscription_id == subscription_id)
            )
            return set(rows.all())

    assert sync_api.runner.run(delivered(subs["ward"])) == events
    assert sync_api.runner.run(delivered(subs["other"])) == set()
