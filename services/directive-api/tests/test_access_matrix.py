"""Access-control proof: a role × route matrix built from ``app.routes``, and two-unit cross access.

``ACCESS`` classifies every (method, path) the application serves: which callers may get past
its authorization. A route missing from the table fails the test, so a new route must be classified
before it ships. Each route is called by every role (and without a token): an allowed caller must
not get 401/403, a refused one must get 401, 403 or 404. Mutating calls carry a stale ``If-Match``
(or invalid data) so that allowed callers stop at 412/409/422 and the shared document stays as it is.

The cross-unit part follows QUALITY.md §3.7: a document issued only to X31299
(``addressees: [{"unit": "X31299"}]``); the officer of SNV gets 404 on every route with a
``{directive_id}``, with fresh ETags and valid bodies, and no row of any table changes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from directive_testing import Actors
from security_testing import ADDRESSED_UNIT, LOG, OTHER_UNIT, SyncApi, letter_to, route_table, row_counts

from common.testing import TokenFactory
from directive_api.settings import Settings

ANONYMOUS = "anonymous"
OFFICE_ROLES = {"drafter", "reviewer", "signer", "clerk", "monitor", "integration", "auditor", "admin"}
AUTHENTICATED = OFFICE_ROLES | {"unit_officer"}
EVERYONE = AUTHENTICATED | {ANONYMOUS}
NOBODY: set[str] = set()
"""Authenticated otherwise (``/v1/inbox/events`` takes a webhook signature, not a bearer token)."""

PEOPLE_BY_ROLE = {"drafter": "tran-van-an", "reviewer": "pham-thi-binh", "signer": "le-xuan-hoa", "clerk": "vo-thi-thu"}
STALE = {"If-Match": '"999"'}
D = "/v1/directives/{directive_id}"

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/openapi.json"): EVERYONE,
    ("GET", "/docs"): EVERYONE,
    ("GET", "/docs/oauth2-redirect"): EVERYONE,
    # Swagger UI's files, served without a CDN (common.docs)
    ("GET", "/docs/assets/swagger-ui-bundle.js"): EVERYONE,
    ("GET", "/docs/assets/swagger-ui.css"): EVERYONE,
    ("GET", "/docs/assets/favicon-32x32.png"): EVERYONE,
    ("GET", "/redoc"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    ("GET", "/metrics"): EVERYONE,  # open to loopback scrapes (the ASGI test client); other hosts need a token
    ("GET", "/verify/{public_id}"): EVERYONE,
    ("GET", "/verify/{public_id}/pdf"): EVERYONE,
    # The public file-verification page: the hash lookup and the full check of an uploaded file.
    ("GET", "/verify"): EVERYONE,
    ("GET", "/verify/by-hash/{sha256}"): EVERYONE,
    ("POST", "/verify/file"): EVERYONE,
    ("POST", "/v1/directives"): {"drafter", "integration"},
    ("GET", "/v1/directives"): AUTHENTICATED,
    ("GET", D): AUTHENTICATED,
    ("PATCH", D): {"drafter", "integration"},
    ("POST", D + "/submit"): {"drafter", "integration"},
    ("POST", D + "/review"): {"reviewer"},
    ("POST", D + "/return"): {"reviewer", "signer"},
    ("POST", D + "/approve"): {"signer"},
    ("POST", D + "/abandon_signature"): {"signer"},
    ("GET", "/v1/signing-requests/{request_id}"): {"signer"},
    ("POST", "/v1/signing-requests/{request_id}/signature"): {"signer"},
    ("POST", "/v1/signing-requests/{request_id}/remote-authorization"): {"signer"},
    ("POST", D + "/issue"): {"clerk"},
    ("POST", D + "/dispatch"): {"clerk"},
    ("POST", D + "/archive"): {"clerk"},
    ("POST", D + "/recall"): {"clerk", "signer"},
    ("POST", D + "/replace"): {"clerk"},
    ("POST", D + "/attachments"): {"drafter", "integration"},
    ("GET", D + "/history"): AUTHENTICATED,
    ("GET", D + "/pdf"): AUTHENTICATED,
    ("GET", D + "/recipients"): AUTHENTICATED,  # a unit officer sees only its own delivery
    ("GET", D + "/edxml"): {"integration", "clerk", "admin", "monitor"},
    ("GET", "/v1/registers/{issuer_code}/{code}/{year}"): OFFICE_ROLES,
    ("GET", "/v1/registers/{issuer_code}/{code}/{year}/export"): OFFICE_ROLES,
    ("GET", "/v1/registers"): OFFICE_ROLES,
    ("POST", "/v1/verify"): AUTHENTICATED,
    ("GET", "/v1/events"): {"integration", "monitor", "admin", "auditor", "clerk"},
    ("POST", "/v1/webhook-subscriptions"): {"integration", "admin"},
    ("GET", "/v1/webhook-subscriptions"): {"integration", "admin"},
    ("POST", "/v1/webhook-subscriptions/{subscription_id}/rotate-secret"): {"integration", "admin"},
    ("DELETE", "/v1/webhook-subscriptions/{subscription_id}"): {"integration", "admin"},
    ("POST", "/v1/inbox/events"): NOBODY,
    ("POST", "/v1/edxml/status"): {"integration", "clerk", "admin"},
    ("POST", "/v1/edxml/inbox"): {"integration", "clerk", "admin"},
    ("GET", "/v1/edxml/quarantine"): {"admin"},
    ("POST", "/v1/edxml/quarantine/{package_id}/map"): {"admin"},
    ("POST", "/v1/edxml/quarantine/{package_id}/reject"): {"admin"},
    ("GET", "/v1/edxml/received"): {"clerk", "admin", "monitor", "auditor", "drafter"},
    ("GET", "/v1/edxml/received/{received_id}"): {"clerk", "admin", "monitor", "auditor", "drafter"},
    ("GET", "/v1/edxml/received/{received_id}/attachments/{attachment}"): {
        "clerk",
        "admin",
        "monitor",
        "auditor",
        "drafter",
    },
    # A reply is seen by whoever sees its delivery on the recipients (none here: 404 for all).
    ("GET", "/v1/edxml/replies/{package_id}"): AUTHENTICATED,
    ("GET", "/v1/edxml/replies/{package_id}/attachments/{attachment}"): AUTHENTICATED,
    ("POST", "/v1/edxml/received/{received_id}/reply"): {"clerk", "drafter"},
    # 03 (registering) is the registry's alone: signers, monitors and drafters answer other codes.
    ("POST", "/v1/edxml/received/{received_id}/status"): {"clerk"},
    ("POST", "/v1/edxml/received/{received_id}/change"): {"clerk"},
    ("GET", "/v1/orgs"): AUTHENTICATED,
    ("GET", "/v1/orgs/{code}"): AUTHENTICATED,
    ("GET", "/v1/org-groups"): AUTHENTICATED,
    ("GET", "/v1/org-groups/{code}"): AUTHENTICATED,
    ("GET", "/v1/people"): AUTHENTICATED,
    ("GET", "/v1/people/{person_id}"): AUTHENTICATED,
    ("POST", "/v1/orgs"): {"admin"},
    ("PATCH", "/v1/orgs/{code}"): {"admin"},
    ("DELETE", "/v1/orgs/{code}"): {"admin"},
    ("POST", "/v1/org-groups"): {"admin"},
    ("PATCH", "/v1/org-groups/{code}"): {"admin"},
    ("DELETE", "/v1/org-groups/{code}"): {"admin"},
    ("POST", "/v1/people"): {"admin"},
    ("PATCH", "/v1/people/{person_id}"): {"admin"},
    ("DELETE", "/v1/people/{person_id}"): {"admin"},
    ("GET", "/v1/directory/changes"): {"admin", "auditor"},
    ("GET", "/v1/directory/export"): {"admin"},
    ("POST", "/v1/directory/import"): {"admin"},
}

TRANSITION_BODY = {"comment": "Đề nghị xem lại."}
REQUEST: dict[tuple[str, str], dict[str, Any]] = {
    # What each mutating route is sent (the rest: no body). Allowed callers stop before any change.
    ("PATCH", D): {"json": {"subject": "không được đổi"}, "headers": STALE},
    ("POST", "/v1/webhook-subscriptions"): {"json": {"url": "ftp://x", "event_types": ["*"]}},
    ("POST", "/v1/verify"): {"content": b"%PDF-1.7\n%%EOF\n", "headers": {"Content-Type": "application/pdf"}},
    ("POST", "/verify/file"): {"content": b"%PDF-1.7\n%%EOF\n", "headers": {"Content-Type": "application/pdf"}},
    ("POST", D + "/attachments"): {
        "content": b"%PDF-1.7\n%%EOF\n",
        "headers": {**STALE, "Content-Type": "application/pdf"},
    },
    ("POST", "/v1/edxml/status"): {"content": b"<not-edxml/>", "headers": {"Content-Type": "application/xml"}},
    ("POST", "/v1/edxml/inbox"): {"content": b"<not-edxml/>", "headers": {"Content-Type": "application/xml"}},
    ("POST", "/v1/inbox/events"): {"json": {"type": "x"}},
    # The directory: valid bodies that an admin is refused for an existing code or a stale ETag.
    ("POST", "/v1/orgs"): {"json": {"code": "VPUB", "name": "Trùng mã", "kind": "office"}},
    ("PATCH", "/v1/orgs/{code}"): {"json": {"name": "không được đổi"}, "headers": STALE},
    ("DELETE", "/v1/orgs/{code}"): {"headers": STALE},
    ("POST", "/v1/org-groups"): {"json": {"code": "department", "name": "Trùng mã"}},
    ("PATCH", "/v1/org-groups/{code}"): {"json": {"name": "không được đổi"}, "headers": STALE},
    ("DELETE", "/v1/org-groups/{code}"): {"headers": STALE},
    ("POST", "/v1/people"): {
        "json": {"id": "le-xuan-hoa", "full_name": "Trùng mã", "unit_code": "VPUB", "position": "x", "roles": []}
    },
    ("PATCH", "/v1/people/{person_id}"): {"json": {"position": "không được đổi"}, "headers": STALE},
    ("DELETE", "/v1/people/{person_id}"): {"headers": STALE},
    # A well-formed signature for a request that does not exist: the signer stops at 404.
    ("POST", "/v1/signing-requests/{request_id}/signature"): {"json": {"signature": "AA==", "certificates": ["AA=="]}},
    ("POST", "/v1/signing-requests/{request_id}/remote-authorization"): {"json": {"pin": "1", "otp": "1"}},
    ("POST", "/v1/directory/import"): {
        "json": {"units": [{"code": "MOI", "name": "Mới", "kind": "ward", "group_code": "khong-co"}]}
    },
    ("POST", "/v1/edxml/quarantine/{package_id}/map"): {"json": {"unit_code": "SYT"}},  # no such package: 404
    ("POST", "/v1/edxml/quarantine/{package_id}/reject"): {"json": {"reason": "không"}},
    ("POST", "/v1/edxml/received/{received_id}/reply"): {"json": {"directive_id": str(uuid.UUID(int=1))}},  # 404
    ("POST", "/v1/edxml/received/{received_id}/status"): {"json": {"code": "03"}},  # no such document: 404
    ("POST", "/v1/edxml/received/{received_id}/change"): {"json": {"decision": "agree"}},  # 404
}


@dataclass
class Fixture:
    doc: dict[str, Any]
    headers: dict[str, dict[str, str]]


def _role_headers(tokens: TokenFactory) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {ANONYMOUS: {}}
    for role in OFFICE_ROLES:
        out[role] = tokens.headers(PEOPLE_BY_ROLE.get(role, f"{role}-vpub"), [role], "VPUB")
    out["unit_officer"] = tokens.headers(f"officer-{ADDRESSED_UNIT.lower()}", ["unit_officer"], ADDRESSED_UNIT)
    return out


def _issued(api: SyncApi, actors: Actors) -> dict[str, Any]:
    """A document issued to X31299 only."""
    response = api.request("POST", "/v1/directives", json=letter_to(ADDRESSED_UNIT), headers=actors.drafter)
    assert response.status_code == 201, response.text
    doc: dict[str, Any] = response.json()
    for action, who in (("submit", actors.drafter), ("approve", actors.signer), ("issue", actors.clerk)):
        response = api.request("POST", f"/v1/directives/{doc['id']}/{action}", headers={**who, "If-Match": doc["etag"]})
        assert response.status_code == 200, response.text
        doc = response.json()
    assert doc["status"] == "issued"
    return doc


def _url(path: str, doc: dict[str, Any]) -> str:
    return path.format(
        directive_id=doc["id"],
        public_id=doc["public_id"],
        issuer_code="VPUB",
        code="HC" if "{year}" in path else ("department" if "org-groups" in path else OTHER_UNIT),
        year=doc["issued_on"][:4],
        person_id="le-xuan-hoa",
        subscription_id="00000000-0000-0000-0000-000000000000",
        package_id="999999",
        received_id="00000000-0000-0000-0000-000000000000",
        request_id="00000000-0000-0000-0000-000000000000",
        sha256="0" * 64,
        attachment="0",
    )


def _request_for(method: str, path: str) -> dict[str, Any]:
    spec = REQUEST.get((method, path))
    if spec is not None:
        return spec
    if method == "POST" and path.startswith(D + "/"):
        return {"json": TRANSITION_BODY, "headers": STALE}
    if method == "POST" and path == "/v1/directives":
        return {"json": letter_to(ADDRESSED_UNIT)}
    return {}


def test_every_route_is_classified(sync_api: SyncApi) -> None:
    served = set(route_table(sync_api.app))
    unclassified = sorted(served - set(ACCESS))
    assert not unclassified, f"classify these routes in ACCESS: {unclassified}"
    stale = sorted(set(ACCESS) - served)
    assert not stale, f"ACCESS lists routes the application no longer serves: {stale}"


@pytest.mark.slow
def test_role_route_matrix(sync_api: SyncApi, actors: Actors, token_factory: TokenFactory) -> None:
    doc = _issued(sync_api, actors)
    headers = _role_headers(token_factory)
    wrong: list[str] = []
    calls = 0
    for method, path in sorted(route_table(sync_api.app)):
        allowed = ACCESS[(method, path)]
        spec = _request_for(method, path)
        for role, role_headers in sorted(headers.items()):
            response = sync_api.request(
                method,
                _url(path, doc),
                json=spec.get("json"),
                content=spec.get("content"),
                headers={**role_headers, **spec.get("headers", {})},
            )
            calls += 1
            status = response.status_code
            assert status < 500, (method, path, role, response.text[:300])
            if role in allowed and status in (401, 403):
                wrong.append(f"{role} refused ({status}) on {method} {path}: {response.text[:160]}")
            if role not in allowed and status not in (401, 403, 404):
                wrong.append(f"{role} got {status} on {method} {path} (should be refused)")
    LOG.info(f"access matrix: {calls} calls")
    assert not wrong, "\n".join(wrong)
    after = sync_api.request("GET", f"/v1/directives/{doc['id']}", headers=actors.clerk).json()
    assert (after["status"], after["version"]) == ("issued", doc["version"])


@pytest.mark.slow
def test_other_unit_gets_404_and_changes_nothing(
    sync_api: SyncApi, actors: Actors, settings: Settings, token_factory: TokenFactory
) -> None:
    doc = _issued(sync_api, actors)
    addressed = actors.unit_officer(ADDRESSED_UNIT)
    other = actors.unit_officer(OTHER_UNIT)
    # Even an officer of the other unit holding every staff role of its own unit sees nothing.
    other_with_roles = token_factory.headers("officer-snv-2", sorted(AUTHENTICATED), OTHER_UNIT)
    routes = [(m, p) for m, p in route_table(sync_api.app) if "{directive_id}" in p]
    assert len(routes) >= 10, routes
    before = row_counts(settings.database.url)
    checked = 0
    for method, path in routes:
        spec = _request_for(method, path)
        fresh = {"If-Match": doc["etag"]} if method in ("POST", "PATCH") else {}
        kwargs = {"json": spec.get("json"), "content": spec.get("content")}
        for who in (other, other_with_roles):
            response = sync_api.request(method, _url(path, doc), headers={**who, **fresh}, **kwargs)
            assert response.status_code == 404, (method, path, response.status_code, response.text[:300])
            assert response.headers["content-type"].startswith("application/problem+json")
            assert doc["id"] not in response.text or "no document" in response.text
            checked += 1
        response = sync_api.request(method, _url(path, doc), headers={**addressed, **fresh}, **kwargs)
        if method == "GET":
            assert response.status_code in (200, 403), (method, path, response.status_code)
        else:
            assert response.status_code == 403, (method, path, response.status_code, response.text[:300])
    assert row_counts(settings.database.url) == before
    listing = sync_api.request("GET", "/v1/directives", headers=other).json()
    assert listing["items"] == []
    own = sync_api.request("GET", "/v1/directives", headers=addressed).json()
    assert [d["id"] for d in own["items"]] == [doc["id"]]
    for suffix in ("", "/history", "/pdf"):
        response = sync_api.request("GET", f"/v1/directives/{doc['id']}{suffix}", headers=addressed)
        assert response.status_code == 200, (suffix, response.text[:300])
    LOG.info(f"cross-unit: {len(routes)} routes, {checked} refused calls")


# --- feed, webhooks and edXML for every role of three units --------------------------------------

UNITS_UNDER_TEST = ("VPUB", ADDRESSED_UNIT, OTHER_UNIT)
"""The issuer, the unit the document is addressed to, and a unit it is not addressed to."""
EVERY_ROLE = sorted(AUTHENTICATED)
FEED = {"integration", "monitor", "admin", "auditor", "clerk"}
SUBSCRIBE = {"integration", "admin"}
EXCHANGE = {"integration", "clerk", "admin"}


def _status_from(organ_id: str) -> bytes:
    from test_edxml_exchange import STATUS_SAMPLES

    from common.edxml import ResponseFor, build_status_package, parse_status_package

    [sample] = [p for p in STATUS_SAMPLES if p.stem.endswith("_01")]
    original = parse_status_package(sample.read_bytes())
    ours = ResponseFor(
        organ_id="000.00.01.H13", code="01/VPUB-TTĐH", document_id="000.00.01.H13,2026/11/27,01/VPUB-TTĐH"
    )
    sender = original.sender.model_copy(update={"organ_id": organ_id})
    return build_status_package(original.model_copy(update={"response_for": (ours,), "sender": sender}))


@pytest.mark.slow
def test_feed_webhooks_and_edxml_for_every_role_of_three_units(
    sync_api: SyncApi, actors: Actors, settings: Settings, token_factory: TokenFactory
) -> None:
    from sqlalchemy import text

    from common.outbox import Relay
    from directive_api.events.models import OUTBOX
    from directive_api.events.visibility import webhook_audience

    doc = _issued(sync_api, actors)
    response = sync_api.request(
        "POST", f"/v1/directives/{doc['id']}/dispatch", headers={**actors.clerk, "If-Match": doc["etag"]}
    )
    assert response.status_code == 200, response.text

    async def sequence() -> None:
        async with Relay(sync_api.app.state.sessionmaker, OUTBOX, audience=webhook_audience) as relay:
            await relay.step()
        async with sync_api.app.state.engine.begin() as connection:
            await connection.execute(
                text("UPDATE units SET organ_id = '000.31.99.H13' WHERE code = :c"), {"c": ADDRESSED_UNIT}
            )

    sync_api.runner.run(sequence())
    all_events = {e["id"] for e in sync_api.request("GET", "/v1/events", headers=actors.monitor).json()["items"]}
    assert len(all_events) == 2  # issued, dispatched
    settings.webhooks.allow_hosts = ["http://127.0.0.1:9"]
    package = _status_from("000.31.99.H13")
    owners: dict[str, tuple[str, str, dict[str, str]]] = {}
    wrong: list[str] = []
    for unit in UNITS_UNDER_TEST:
        for role in EVERY_ROLE:
            who = f"{role}@{unit}"
            headers = token_factory.headers(f"{role}-{unit.lower()}", [role], unit)
            readable = sync_api.request("GET", f"/v1/directives/{doc['id']}", headers=headers).status_code == 200
            # the pull feed: the caller's roles, then exactly the events of what it can read
            feed = sync_api.request("GET", "/v1/events", headers=headers)
            if role in FEED:
                fed = {e["id"] for e in feed.json()["items"]} if feed.status_code == 200 else None
                if fed != (all_events if readable else set()):
                    wrong.append(f"{who}: feed {feed.status_code} {fed} (reads the document: {readable})")
            elif feed.status_code != 403:
                wrong.append(f"{who}: feed answered {feed.status_code}")
            # webhooks: subscribing needs integration/admin; each subscription is its owner's
            created = sync_api.request(
                "POST", "/v1/webhook-subscriptions", json={"url": f"http://127.0.0.1:9/{unit}/{role}"}, headers=headers
            )
            if role in SUBSCRIBE:
                if created.status_code != 201:
                    wrong.append(f"{who}: subscribe answered {created.status_code}")
                    continue
                sub = created.json()["subscription"]
                owners[sub["id"]] = (unit, role, headers)
                listed = {s["id"] for s in sync_api.request("GET", "/v1/webhook-subscriptions", headers=headers).json()}
                if (unit, role) != ("VPUB", "admin") and listed != {sub["id"]}:
                    wrong.append(f"{who}: lists {listed}")
            elif created.status_code != 403:
                wrong.append(f"{who}: subscribe answered {created.status_code}")
            # edXML from the addressed unit: only that unit's exchange roles may speak for it
            before = row_counts(settings.database.url)
            posted = sync_api.request(
                "POST", "/v1/edxml/status", content=package, headers={**headers, "Content-Type": "application/xml"}
            )
            expected = 200 if unit == ADDRESSED_UNIT and role in EXCHANGE else 403
            if posted.status_code != expected:
                wrong.append(f"{who}: edXML status answered {posted.status_code}, expected {expected}")
            if expected == 403 and row_counts(settings.database.url) != before:
                wrong.append(f"{who}: a refused edXML package changed rows")
    # nobody but the owner (and the Office's admin) sees or touches a subscription
    office_admin = token_factory.headers("admin-vpub", ["admin"], "VPUB")
    everything = {s["id"] for s in sync_api.request("GET", "/v1/webhook-subscriptions", headers=office_admin).json()}
    assert set(owners) <= everything
    for sub_id, (unit, role, _headers) in owners.items():
        for other_id, (other_unit, other_role, other_headers) in owners.items():
            if other_id == sub_id or (other_unit, other_role) == ("VPUB", "admin"):
                continue
            rotated = sync_api.request(
                "POST", f"/v1/webhook-subscriptions/{sub_id}/rotate-secret", headers=other_headers
            )
            if rotated.status_code != 404 or "whsec_" in rotated.text:
                wrong.append(f"{other_role}@{other_unit} rotated {role}@{unit}'s secret: {rotated.status_code}")

    # webhooks follow the read rule: re-deliver the two events through the relay's audience
    async def audience() -> dict[str, set[str]]:
        async with sync_api.app.state.sessionmaker() as session:
            events = [(event_id, "directive.*", doc["id"]) for event_id in all_events]
            pairs = await webhook_audience(session, events, sorted(owners))
        out: dict[str, set[str]] = {s: set() for s in owners}
        for event_id, sub_id in pairs:
            out[sub_id].add(event_id)
        return out

    for sub_id, delivered in sync_api.runner.run(audience()).items():
        unit, role, headers = owners[sub_id]
        readable = sync_api.request("GET", f"/v1/directives/{doc['id']}", headers=headers).status_code == 200
        if delivered != (all_events if readable else set()):
            wrong.append(f"{role}@{unit}: webhook would get {delivered} (reads the document: {readable})")
    LOG.info(f"feed/webhooks/edXML matrix: {len(UNITS_UNDER_TEST) * len(EVERY_ROLE)} principals")
    assert not wrong, "\n".join(wrong)
