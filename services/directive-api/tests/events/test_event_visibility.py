"""Whose webhooks, whose events: subscriptions belong to an owner; one visibility rule for feed and webhooks.

Before: an ``admin`` of any unit listed every subscription (URLs, secret prefixes, report-api's
inbox), rotated another owner's secret (getting the new one) and deleted it; the feed gave an
``admin``/``auditor`` of another unit the events of documents it could not read, and a unit's
``["*"]`` subscription received events of documents not addressed to it.
"""

from __future__ import annotations

import random
from typing import Any

from directive_testing import Actors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_testing import SyncApi, letter_to
from sqlalchemy import select

from common.auth import Principal
from common.db import transaction
from common.outbox import Relay
from common.testing import TokenFactory
from directive_api.events.models import OUTBOX, OutboxEvent, WebhookDelivery, WebhookSubscription
from directive_api.events.visibility import webhook_audience
from directive_api.settings import Settings

HOOK = "http://127.0.0.1:9/hook"
UNITS = ["VPUB", "SNV", "X31299", "P31120", "STP"]
ROLES = ["drafter", "reviewer", "signer", "clerk", "monitor", "integration", "auditor", "admin", "unit_officer"]


def _allow_local(api: SyncApi) -> None:
    api.app.state.settings.webhooks.allow_hosts = ["http://127.0.0.1:9"]


def _subscribe(api: SyncApi, headers: dict[str, str], url: str = HOOK) -> dict[str, Any]:
    response = api.request("POST", "/v1/webhook-subscriptions", json={"url": url}, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _system_subscriber(api: SyncApi) -> str:
    """report-api's inbox, as the relay worker registers it from the configuration."""
    from pydantic import SecretStr

    from common.webhooks import generate_secret
    from directive_api.settings import Subscriber
    from directive_api.workers import ensure_subscribers

    settings: Settings = api.app.state.settings
    settings.subscribers = [
        Subscriber(owner="report-api", url="http://127.0.0.1:9/inbox", secret=SecretStr(generate_secret()))
    ]
    api.runner.run(ensure_subscribers(api.app.state.sessionmaker, settings))

    async def find() -> str:
        async with api.app.state.sessionmaker() as session:
            row = await session.scalar(select(WebhookSubscription).where(WebhookSubscription.owner == "report-api"))
            assert row is not None and row.system
            return row.id

    return api.runner.run(find())


def test_subscriptions_belong_to_their_owner(sync_api: SyncApi, token_factory: TokenFactory) -> None:
    _allow_local(sync_api)
    vpub_client = token_factory.headers("eoffice-vpub", ["integration"], "VPUB")
    snv_admin = token_factory.headers("admin-snv", ["admin"], "SNV")
    snv_client = token_factory.headers("eoffice-snv", ["integration"], "SNV")
    office_admin = token_factory.headers("admin-vpub", ["admin"], "VPUB")
    theirs = _subscribe(sync_api, vpub_client)
    mine = _subscribe(sync_api, snv_admin)
    system_id = _system_subscriber(sync_api)
    theirs_id = theirs["subscription"]["id"]
    assert theirs["subscription"]["owner_unit"] == "VPUB" and not theirs["subscription"]["system"]

    # Another unit's admin sees only its own subscription: no other URL, no secret prefix, no system row.
    listed = sync_api.request("GET", "/v1/webhook-subscriptions", headers=snv_admin)
    assert [s["id"] for s in listed.json()] == [mine["subscription"]["id"]]
    assert theirs["secret"][:10] not in listed.text and "/inbox" not in listed.text
    # The same client id in another unit is another owner.
    same_name = token_factory.headers("eoffice-vpub", ["integration"], "SNV")
    assert sync_api.request("GET", "/v1/webhook-subscriptions", headers=same_name).json() == []
    assert sync_api.request("GET", "/v1/webhook-subscriptions", headers=snv_client).json() == []
    for who in (snv_admin, snv_client, same_name):
        for method, suffix in (("POST", "/rotate-secret"), ("DELETE", "")):
            for target in (theirs_id, system_id):
                response = sync_api.request(method, f"/v1/webhook-subscriptions/{target}{suffix}", headers=who)
                assert response.status_code == 404, (method, suffix, response.text)
                assert "whsec_" not in response.text

    # The Office's admin sees every subscription, with its owner, but no one else's keys; it may
    # deactivate them, not take their secret; configured subscribers are changed in the configuration.
    everything = sync_api.request("GET", "/v1/webhook-subscriptions", headers=office_admin).json()
    assert {s["id"] for s in everything} == {theirs_id, mine["subscription"]["id"], system_id}
    assert all("secrets" not in s for s in everything)
    assert {s["id"]: s["system"] for s in everything}[system_id] is True
    rotated = sync_api.request("POST", f"/v1/webhook-subscriptions/{theirs_id}/rotate-secret", headers=office_admin)
    assert rotated.status_code == 403 and "whsec_" not in rotated.text
    assert sync_api.request("DELETE", f"/v1/webhook-subscriptions/{system_id}", headers=office_admin).status_code == 403
    assert (
        sync_api.request(
            "POST", f"/v1/webhook-subscriptions/{system_id}/rotate-secret", headers=office_admin
        ).status_code
        == 403
    )

    # The owner sees its own with masked secrets and gets a new secret once, at rotation.
    own = sync_api.request("GET", "/v1/webhook-subscriptions", headers=vpub_client).json()
    assert [s["id"] for s in own] == [theirs_id] and own[0]["secrets"] == [theirs["secret"][:10] + "…"]
    rotated = sync_api.request("POST", f"/v1/webhook-subscriptions/{theirs_id}/rotate-secret", headers=vpub_client)
    assert rotated.status_code == 200 and rotated.json()["secret"] != theirs["secret"]
    assert sync_api.request("DELETE", f"/v1/webhook-subscriptions/{theirs_id}", headers=office_admin).status_code == 204
    assert [s["active"] for s in sync_api.request("GET", "/v1/webhook-subscriptions", headers=vpub_client).json()] == [
        False
    ]


def test_a_subscription_needs_a_unit(sync_api: SyncApi, token_factory: TokenFactory) -> None:
    _allow_local(sync_api)
    unitless = token_factory.headers("eoffice-x", ["integration"], None)
    response = sync_api.request("POST", "/v1/webhook-subscriptions", json={"url": HOOK}, headers=unitless)
    assert response.status_code == 403


# --- the event-visibility rule -----------------------------------------------------------------


def _issue(api: SyncApi, actors: Actors, body: dict[str, Any], *, dispatch: bool) -> dict[str, Any]:
    response = api.request("POST", "/v1/directives", json=body, headers=actors.drafter)
    assert response.status_code == 201, response.text
    doc: dict[str, Any] = response.json()
    steps = [("submit", actors.drafter), ("approve", actors.signer), ("issue", actors.clerk)]
    if dispatch:
        steps.append(("dispatch", actors.clerk))
    for action, who in steps:
        response = api.request("POST", f"/v1/directives/{doc['id']}/{action}", headers={**who, "If-Match": doc["etag"]})
        assert response.status_code == 200, response.text
        doc = response.json()
    return doc


def _random_documents(api: SyncApi, actors: Actors, rng: random.Random) -> list[dict[str, Any]]:
    """A few documents with random addressees (units, groups) and information copies; one left a draft."""
    docs = []
    for i in range(4):
        body = letter_to(rng.choice(UNITS[1:]))
        extra = rng.sample([{"unit": u} for u in UNITS[1:]] + [{"group": "department"}], k=rng.randint(0, 2))
        body["addressees"] += [a for a in extra if a not in body["addressees"]]
        if rng.random() < 0.5:
            body["info_recipients"] = [{"units": [rng.choice(UNITS[1:])]}]
        docs.append(_issue(api, actors, body, dispatch=i % 2 == 0))
    draft = api.request("POST", "/v1/directives", json=letter_to("SNV"), headers=actors.drafter)
    assert draft.status_code == 201
    return docs


def _sequence(api: SyncApi) -> list[tuple[str, str, str]]:
    async def run() -> list[tuple[str, str, str]]:
        async with Relay(api.app.state.sessionmaker, OUTBOX, audience=webhook_audience) as relay:
            await relay.step()
        async with api.app.state.sessionmaker() as session:
            rows = (await session.execute(select(OutboxEvent.id, OutboxEvent.type, OutboxEvent.subject))).all()
        return [(r.id, r.type, r.subject) for r in rows]

    return api.runner.run(run())


def _feed(api: SyncApi, headers: dict[str, str]) -> tuple[int, set[str]]:
    response = api.request("GET", "/v1/events", params={"after": 0, "limit": 1000}, headers=headers)
    if response.status_code != 200:
        return response.status_code, set()
    return 200, {e["id"] for e in response.json()["items"]}


def _readable(api: SyncApi, headers: dict[str, str], events: list[tuple[str, str, str]]) -> set[str]:
    """The oracle: events of the documents these headers can GET."""
    can = {
        s
        for s in {e[2] for e in events}
        if api.request("GET", f"/v1/directives/{s}", headers=headers).status_code == 200
    }
    return {event_id for event_id, _type, subject in events if subject in can}


def _audience(api: SyncApi, principal: Principal, events: list[tuple[str, str, str]]) -> set[str]:
    """What the relay would deliver to a ``["*"]`` subscription of ``principal``."""

    async def run() -> set[str]:
        async with transaction(api.app.state.sessionmaker) as session:
            subscription = WebhookSubscription(
                id=f"sub_probe_{random.getrandbits(40)}",
                owner=principal.id,
                owner_unit=principal.unit,
                owner_roles=sorted(principal.roles),
                url=HOOK,
                event_types=["*"],
                secrets=["whsec_" + "A" * 40],
                active=True,
            )
            session.add(subscription)
            await session.flush()
            allowed = await webhook_audience(session, events, [subscription.id])
            await session.rollback()  # a probe: nothing stays
        return {event_id for event_id, _sub in allowed}

    return api.runner.run(run())


def test_feed_and_webhooks_follow_the_read_rule(sync_api: SyncApi, actors: Actors, token_factory: TokenFactory) -> None:
    """Property: for random documents and principals of random units and roles, the feed and a
    ``["*"]`` webhook subscription show exactly the events of the documents the principal can read."""
    docs = _random_documents(sync_api, actors, random.Random(16))
    events = _sequence(sync_api)
    assert {e[2] for e in events} == {d["id"] for d in docs}
    checked: list[int] = []

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(
        unit=st.sampled_from([*UNITS, None]),
        roles=st.sets(st.sampled_from(ROLES), min_size=1, max_size=3),
    )
    def check(unit: str | None, roles: set[str]) -> None:
        headers = token_factory.headers(f"probe-{(unit or 'none').lower()}", sorted(roles), unit)
        readable = _readable(sync_api, headers, events)
        status, fed = _feed(sync_api, headers)
        if status == 200:
            assert fed == readable, (unit, roles)
        else:
            assert status == 403 and not roles & {"integration", "monitor", "admin", "auditor", "clerk"}
        principal = Principal(subject=f"probe-{unit}", name="probe", roles=frozenset(roles), unit=unit)
        assert _audience(sync_api, principal, events) == readable, (unit, roles)
        checked.append(len(readable))

    check()
    assert any(checked) and not all(checked)  # the examples saw both sides of the rule


def test_another_units_admin_and_auditor_get_no_foreign_events(
    sync_api: SyncApi, actors: Actors, token_factory: TokenFactory
) -> None:
    _issue(sync_api, actors, letter_to("X31299"), dispatch=True)
    events = _sequence(sync_api)
    assert len(events) == 2
    for roles in (["admin"], ["auditor"], ["admin", "auditor", "integration"]):
        status, fed = _feed(sync_api, token_factory.headers("snv-x", roles, "SNV"))
        assert (status, fed) == (200, set()), roles
    assert _feed(sync_api, token_factory.headers("vpub-auditor", ["auditor"], "VPUB"))[1] == {e[0] for e in events}
    # the addressed unit's e-office (integration + unit_officer) gets them, the other unit's does not
    addressed = Principal(subject="eoffice", name="e", roles=frozenset({"integration", "unit_officer"}), unit="X31299")
    other = Principal(subject="eoffice", name="e", roles=frozenset({"integration", "unit_officer"}), unit="SNV")
    assert _audience(sync_api, addressed, events) == {e[0] for e in events}
    assert _audience(sync_api, other, events) == set()


def test_the_relay_fans_out_by_the_rule(sync_api: SyncApi, actors: Actors, token_factory: TokenFactory) -> None:
    """End to end through the relay: deliveries exist only for subscriptions whose owner may read."""
    _allow_local(sync_api)
    addressed = _subscribe(sync_api, token_factory.headers("eo-x", ["integration", "unit_officer"], "X31299"))
    foreign = _subscribe(sync_api, token_factory.headers("eo-snv", ["admin", "unit_officer"], "SNV"))
    office = _subscribe(sync_api, token_factory.headers("eo-vpub", ["integration"], "VPUB"))
    system_id = _system_subscriber(sync_api)
    _issue(sync_api, actors, letter_to("X31299"), dispatch=True)
    _sequence(sync_api)

    async def deliveries() -> dict[str, int]:
        async with sync_api.app.state.sessionmaker() as session:
            rows = (await session.scalars(select(WebhookDelivery))).all()
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.subscription_id] = counts.get(row.subscription_id, 0) + 1
        return counts

    counts = sync_api.runner.run(deliveries())
    assert counts == {
        addressed["subscription"]["id"]: 2,
        office["subscription"]["id"]: 2,
        system_id: 2,
    }, counts
    assert foreign["subscription"]["id"] not in counts
