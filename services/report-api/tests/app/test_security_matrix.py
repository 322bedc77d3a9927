"""BOLA and function-level authorization over EVERY route of the app (generated from ``app.routes``).

An officer of unit X31299 calls each route on unit SNV's objects: reads and writes answer 404 (the
object is not disclosed) or 403 (an Office function), nothing changes, no bytes leak. A route added
to the app without an entry in ``MATRIX`` fails the test.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from report_testing import PDF_BYTES, VALID_REPORT, Api
from sqlalchemy import func, select

from common.docs import ASSETS_PATH, SERVED
from common.testing import TokenFactory
from report_api.events.models import OutboxEvent, ReceivedEvent
from report_api.obligations.models import ExtensionRequest, Obligation, ObligationHistory
from report_api.reminders.models import Reminder, Timer
from report_api.settings import Settings
from report_api.submissions.models import Evidence, Submission

PUBLIC = {("GET", "/healthz"), ("GET", "/readyz")}
"""Routes that need no token (liveness and readiness carry no data)."""
PAGES = {
    ("GET", "/sign-in"),
    ("GET", "/auth/callback"),
    ("POST", "/sign-out"),
    ("GET", "/pages"),
    ("POST", "/pages/documents/{directive_id}/remind-silent"),
    ("GET", "/pages/inbox"),
    ("GET", "/pages/obligations/{obligation_id}"),
    ("POST", "/pages/obligations/{obligation_id}/acknowledge"),
    ("POST", "/pages/obligations/{obligation_id}/report"),
    ("POST", "/pages/obligations/{obligation_id}/review"),
    ("GET", "/pages/obligations/{obligation_id}/evidence/{evidence_id}"),
    ("GET", "/pages/documents/{directive_id}/export.{kind}"),
    ("POST", "/pages/obligations/{obligation_id}/extension"),
    ("POST", "/pages/obligations/{obligation_id}/extension/{request_id}/decision"),
}
"""Pages for people: a session cookie, not a bearer token (test_pages_browser.py covers their access)."""

MATRIX: dict[tuple[str, str], int] = {
    ("POST", "/v1/inbox/events"): 401,  # a bearer token is not a webhook signature
    ("GET", "/v1/events"): 403,
    ("GET", "/v1/me/obligations"): 200,  # answers, with the caller's own items only (checked below)
    ("GET", "/v1/obligations/{obligation_id}"): 404,
    ("POST", "/v1/obligations/{obligation_id}/acknowledge"): 404,
    ("POST", "/v1/obligations/{obligation_id}/submissions"): 404,
    ("POST", "/v1/obligations/{obligation_id}/evidence"): 404,
    ("GET", "/v1/obligations/{obligation_id}/evidence/{evidence_id}"): 404,
    ("POST", "/v1/obligations/{obligation_id}/extension-requests"): 404,
    ("POST", "/v1/obligations/{obligation_id}/review"): 403,
    ("POST", "/v1/obligations/{obligation_id}/extension-requests/{request_id}/decision"): 403,
    ("POST", "/v1/obligations/{obligation_id}/reminders"): 403,
    ("GET", "/v1/directives/{directive_id}/compliance"): 403,
    ("POST", "/v1/directives/{directive_id}/reminders"): 403,
    ("POST", "/v1/directives/{directive_id}/reviews"): 403,
    ("GET", "/v1/directives/{directive_id}/obligations"): 403,
    ("GET", "/dashboard/{directive_id}"): 403,
    ("POST", "/v1/webhook-subscriptions"): 403,
    ("GET", "/v1/webhook-subscriptions"): 403,
    ("POST", "/v1/webhook-subscriptions/{subscription_id}/rotate-secret"): 403,
    ("DELETE", "/v1/webhook-subscriptions/{subscription_id}"): 403,
    ("GET", "/v1/webhook-subscriptions/{subscription_id}/deliveries"): 403,
    ("POST", "/v1/webhook-subscriptions/{subscription_id}/deliveries/{delivery_id}/replay"): 403,
    ("GET", "/metrics"): 403,  # scrapes need a monitoring role (or the metrics token, or loopback)
}

BODIES: dict[str, dict[str, Any]] = {
    "/v1/obligations/{obligation_id}/submissions": {"json": {"data": VALID_REPORT}},
    "/v1/obligations/{obligation_id}/evidence": {"files": {"file": ("x.pdf", PDF_BYTES, "application/pdf")}},
    "/v1/obligations/{obligation_id}/extension-requests": {"json": {"requested_due_on": "2027-01-29", "reason": "x"}},
    "/v1/obligations/{obligation_id}/review": {"json": {"decision": "accept"}},
    "/v1/obligations/{obligation_id}/extension-requests/{request_id}/decision": {"json": {"decision": "approve"}},
    "/v1/obligations/{obligation_id}/reminders": {"json": {"kind": "phe_binh", "content": "x"}},
    "/v1/directives/{directive_id}/reminders": {"json": {"filter": "silent", "content": "x"}},
    "/v1/directives/{directive_id}/reviews": {
        "json": {"decision": "accept", "obligation_ids": ["9b2f3c1e-0000-4000-8000-000000000001"]}
    },
    "/v1/webhook-subscriptions": {"json": {"url": "https://example.org/hook"}},
    "/v1/inbox/events": {"json": {"id": "evt_x", "type": "directive.recalled", "data": {}}},
}


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    docs |= {f"{ASSETS_PATH}/{name}" for name in SERVED}  # Swagger UI's files (common.docs)
    found = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            for method in route.methods:
                found.add((method, context.path))
        else:
            assert context.path in docs, f"unexpected non-API route {context.path}"
    return found


async def _snapshot(app: FastAPI, settings: Settings) -> dict[str, Any]:
    async with app.state.sessionmaker() as session:
        counts = {
            m.__tablename__: int(await session.scalar(select(func.count()).select_from(m)) or 0)
            for m in (
                Obligation,
                ObligationHistory,
                Submission,
                Evidence,
                ExtensionRequest,
                Reminder,
                Timer,
                OutboxEvent,
                ReceivedEvent,
            )
        }
        states = sorted(
            (o.unit_code, o.status, o.version, o.due_on) for o in (await session.scalars(select(Obligation))).all()
        )
        extensions = sorted(e.status for e in (await session.scalars(select(ExtensionRequest))).all())
    files = sorted(str(p) for p in Path(settings.evidence_dir).rglob("*") if p.is_file())
    return {"counts": counts, "states": states, "extensions": extensions, "files": files}


async def test_every_route_is_covered_and_scoped(api: Api, app: FastAPI, settings: Settings) -> None:
    routes = api_routes(app)
    assert routes - PUBLIC - PAGES == set(MATRIX), (
        f"routes missing from the matrix: {routes - PUBLIC - PAGES - set(MATRIX)}"
    )

    directive = await api.dispatch()
    victim = await api.obligation_of("SNV", directive["id"])
    await api.acknowledge(victim["id"], "SNV")
    upload = await api.client.post(
        f"/v1/obligations/{victim['id']}/evidence",
        files={"file": ("snv.pdf", PDF_BYTES, "application/pdf")},
        headers=api.actors.unit_officer("SNV"),
    )
    evidence = upload.json()
    extension = await api.ok(
        "POST",
        f"/v1/obligations/{victim['id']}/extension-requests",
        api.actors.unit_officer("SNV"),
        {"requested_due_on": "2026-12-18", "reason": "Chờ tổng hợp"},
        201,
    )
    own = await api.obligation_of("X31299", directive["id"])
    params = {
        "obligation_id": victim["id"],
        "evidence_id": evidence["id"],
        "request_id": extension["id"],
        "directive_id": directive["id"],
        "subscription_id": "whs_x",
        "delivery_id": "whd_x",
    }
    attacker = api.actors.unit_officer("X31299")
    before = await _snapshot(app, settings)

    for (method, path), expected in sorted(MATRIX.items()):
        url = path.format(**{k: v for k, v in params.items() if "{" + k + "}" in path})
        kwargs = BODIES.get(path, {})
        anonymous = await api.client.request(method, url, **kwargs)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        response = await api.client.request(method, url, headers=attacker, **kwargs)
        assert response.status_code == expected, (method, path, response.status_code, response.text)
        if expected >= 400:
            assert response.headers["content-type"] == "application/problem+json", (method, path)
        assert PDF_BYTES not in response.content
        # nothing of the other unit's data comes back (the ids the caller sent may be echoed in `instance`)
        assert "Sở Nội vụ" not in response.text and evidence["sha256"] not in response.text, (method, path)
        if path == "/v1/me/obligations":
            assert [o["id"] for o in response.json()["items"]] == [own["id"]]
        if path == "/dashboard/{directive_id}":
            by_query = await api.client.get(url, params={"token": attacker["Authorization"].split()[1]})
            assert by_query.status_code == 403

    # mixing the caller's own obligation with another unit's evidence or extension request
    crossed = await api.client.get(f"/v1/obligations/{own['id']}/evidence/{evidence['id']}", headers=attacker)
    assert crossed.status_code == 404 and PDF_BYTES not in crossed.content
    assert await _snapshot(app, settings) == before


async def test_a_token_the_key_cannot_verify_is_401_on_every_route_and_page(
    api: Api, app: FastAPI, token_factory: TokenFactory
) -> None:
    """An RS256 header against the configured EC key answered 500 (PyJWT's TypeError) before."""
    now = int(time.time())
    claims = {
        "iss": token_factory.auth.issuer,
        "aud": token_factory.auth.audience,
        "sub": "x",
        "roles": ["admin"],
        "iat": now,
        "exp": now + 600,
    }
    token = jwt.encode(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256")
    ids = {"obligation_id": uuid.uuid4(), "evidence_id": uuid.uuid4(), "request_id": uuid.uuid4()}
    ids["directive_id"] = uuid.uuid4()
    ids["subscription_id"] = "whs_x"
    ids["delivery_id"] = "whd_x"
    ids["kind"] = "csv"
    for method, path in sorted(MATRIX):
        if path in ("/v1/inbox/events", "/metrics"):
            continue
        url = path.format(**{k: v for k, v in ids.items() if "{" + k + "}" in path})
        response = await api.client.request(
            method, url, headers={"Authorization": f"Bearer {token}"}, **BODIES.get(path, {})
        )
        assert response.status_code == 401, (method, path, response.status_code, response.text[:200])
        assert response.headers["content-type"] == "application/problem+json"
    # Pages authenticate by session cookie only: a bearer header (verifiable or not) is never a
    # session, so each page sends the browser to sign in and shows nothing.
    for method, path in sorted(PAGES):
        if not path.startswith("/pages"):
            continue  # the sign-in flow itself takes no token
        url = path.format(**{k: v for k, v in ids.items() if "{" + k + "}" in path})
        response = await api.client.request(method, url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 303, (method, path, response.status_code, response.text[:200])
        assert response.headers["location"].startswith("/sign-in?next="), (method, path)
    page = await api.client.get(f"/dashboard/{ids['directive_id']}", params={"token": token})
    assert page.status_code == 401, page.text[:200]
    metrics = await api.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert metrics.status_code == 401, metrics.text[:200]
