"""The signed session cookie and the short-lived cookie of a sign-in in progress.

A cookie value is ``base64url(JSON) "." base64url(HMAC-SHA256)``; anything that does not verify, or
is past its ``exp``, is no session. The session carries the person's claims and a CSRF token that
every form of the pages sends back, and an id that signing out revokes in the database
(``page_session_revocations``): a copied cookie is refused after sign-out, not only once it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from common.auth import Principal

SESSION_COOKIE = "report_session"
FLOW_COOKIE = "report_signin"
FLOW_TTL = 600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """HMAC-signed, expiring JSON values (one secret per deployment)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def dumps(self, payload: dict[str, Any], ttl: int) -> str:
        body = _b64(json.dumps({**payload, "exp": int(time.time()) + ttl}, separators=(",", ":")).encode())
        mac = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()
        return f"{body}.{_b64(mac)}"

    def loads(self, value: str | None) -> dict[str, Any] | None:
        if not value or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        expected = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(_unb64(mac), expected):
                return None
            payload = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int) or payload["exp"] < time.time():
            return None
        return payload


def new_session(claims: dict[str, Any]) -> dict[str, Any]:
    """The session's payload: the person's claims, its CSRF token and its id (``sid``, which
    signing out revokes server-side: the cookie alone would stay valid until ``exp``)."""
    roles = claims.get("roles") or []
    return {
        "sid": secrets.token_urlsafe(24),
        "sub": str(claims["sub"]),
        "name": str(claims.get("name") or claims["sub"]),
        "roles": [str(r) for r in roles] if isinstance(roles, list) else [],
        "unit": claims.get("unit") if isinstance(claims.get("unit"), str) else None,
        "csrf": secrets.token_urlsafe(24),
    }


def principal_of(session: dict[str, Any]) -> Principal:
    return Principal(
        subject=session["sub"], name=session["name"], roles=frozenset(session["roles"]), unit=session.get("unit")
    )


def csrf_ok(session: dict[str, Any], sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(str(session.get("csrf", "")), str(sent))
