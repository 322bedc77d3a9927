"""Signing out of the pages ends the session on the server: a copy of the cookie taken before is no
session any more (the signed cookie alone stayed valid until it expired)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from report_testing import Api
from sqlalchemy import func, select

from common.db import transaction
from report_api.pages.models import RevokedPageSession
from report_api.pages.session import SESSION_COOKIE, Signer, new_session


def _officer(unit: str) -> dict[str, Any]:
    return {"sub": f"officer-{unit.lower()}", "name": f"Cán bộ {unit}", "roles": ["unit_officer"], "unit": unit}


def _session_cookie(app: FastAPI, claims: dict[str, Any], ttl: int = 3600) -> tuple[str, str]:
    """A session cookie as the OpenID Connect callback sets it, and its CSRF token."""
    signer = Signer(b"k" * 32)
    app.state.page_signer = signer
    session = new_session(claims)
    return signer.dumps(session, ttl), str(session["csrf"])


async def _revocations(app: FastAPI) -> int:
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(RevokedPageSession)) or 0)


async def test_a_copied_cookie_is_refused_after_sign_out(api: Api, app: FastAPI) -> None:
    directive = await api.dispatch()
    ob = await api.obligation_of("SNV", directive["id"])
    cookie, csrf = _session_cookie(app, _officer("SNV"))
    other_cookie, _ = _session_cookie(app, _officer("SNV"))  # the same person in another browser
    page = f"/pages/obligations/{ob['id']}"
    api.client.cookies.set(SESSION_COOKIE, cookie)
    assert (await api.client.get(page)).status_code == 200

    # a sign-out with a forged CSRF token ends nothing
    forged = await api.client.post("/sign-out", data={"csrf": "not-it"})
    assert forged.status_code == 403 and await _revocations(app) == 0
    signed_out = await api.client.post("/sign-out", data={"csrf": csrf})
    assert signed_out.status_code == 200 and "Bạn đã đăng xuất." in signed_out.text
    assert await _revocations(app) == 1

    # the copy of the cookie (still signed, not expired) goes to sign in, on pages and forms alike
    api.client.cookies.set(SESSION_COOKIE, cookie)
    for method, url, data in (
        ("GET", page, None),
        ("GET", "/pages/inbox", None),
        ("POST", f"{page}/acknowledge", {"csrf": csrf}),
    ):
        response = await api.client.request(method, url, data=data)
        assert response.status_code == 303 and response.headers["location"].startswith("/sign-in?next="), url
    assert (await api.get(ob["id"], api.actors.unit_officer("SNV"))).json()["status"] == "assigned"
    # nor is it a session for the dashboard (it takes the pages' session besides a bearer token)
    office_cookie, office_csrf = _session_cookie(
        app, {"sub": "dang-minh-khoa", "name": "Đặng Minh Khoa", "roles": ["monitor"], "unit": "VPUB"}
    )
    api.client.cookies.set(SESSION_COOKIE, office_cookie)
    assert (await api.client.get(f"/dashboard/{directive['id']}")).status_code == 200
    assert (await api.client.post("/sign-out", data={"csrf": office_csrf})).status_code == 200
    api.client.cookies.set(SESSION_COOKIE, office_cookie)
    assert (await api.client.get(f"/dashboard/{directive['id']}")).status_code == 401

    # the person's other session is its own: still signed in
    api.client.cookies.set(SESSION_COOKIE, other_cookie)
    assert (await api.client.get(page)).status_code == 200
    # signing out again with the revoked copy changes nothing (no session: nothing to end)
    api.client.cookies.set(SESSION_COOKIE, cookie)
    assert (await api.client.post("/sign-out", data={"csrf": csrf})).status_code == 200
    assert await _revocations(app) == 2


async def test_a_cookie_without_a_session_id_is_no_session(api: Api, app: FastAPI) -> None:
    """Cookies from before revocation existed carry no id: they could never be signed out, so they
    are refused (the person signs in once more)."""
    signer = Signer(b"k" * 32)
    app.state.page_signer = signer
    legacy = {k: v for k, v in new_session(_officer("SNV")).items() if k != "sid"}
    api.client.cookies.set(SESSION_COOKIE, signer.dumps(legacy, 3600))
    response = await api.client.get("/pages/inbox")
    assert response.status_code == 303 and response.headers["location"].startswith("/sign-in?next=")


async def test_expired_revocations_are_forgotten_at_the_next_sign_out(api: Api, app: FastAPI) -> None:
    now = datetime.now(UTC)
    async with transaction(app.state.sessionmaker) as session:
        session.add(
            RevokedPageSession(sid="old", revoked_at=now - timedelta(days=2), expires_at=now - timedelta(days=1))
        )
        session.add(RevokedPageSession(sid="live", revoked_at=now, expires_at=now + timedelta(hours=1)))
    cookie, csrf = _session_cookie(app, _officer("X31299"))
    api.client.cookies.set(SESSION_COOKIE, cookie)
    assert (await api.client.post("/sign-out", data={"csrf": csrf})).status_code == 200
    async with app.state.sessionmaker() as session:
        kept = set((await session.scalars(select(RevokedPageSession.sid))).all())
    # the row whose cookie has expired is gone; one still valid is kept, and the new one is added
    assert "old" not in kept and "live" in kept and len(kept) == 2
