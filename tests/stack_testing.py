"""Helpers shared by the tests that run the services as real processes."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx

from common.auth import mint_token
from directive_api.settings import Settings


def dispatch_walked_letter(list_base: str, dispatch_base: str, clerk: dict[str, str]) -> dict[str, Any]:
    """Dispatch the letter ``walk_seed_letter`` issued, and return it (as listed before dispatch).

    After 17:00 office time a letter is due for sending the day it is issued, and directive-api's
    timer may dispatch it before (or while) the clerk does: it must end up dispatched once, either way.
    """
    listed = httpx.get(f"{list_base}/v1/directives", headers=clerk, timeout=10).json()["items"]
    doc: dict[str, Any] = next(d for d in listed if d["status"] in ("issued", "dispatched"))
    if doc["status"] == "issued":
        dispatched = httpx.post(
            f"{dispatch_base}/v1/directives/{doc['id']}/dispatch",
            headers={**clerk, "If-Match": doc["etag"]},
            timeout=60,
        )
        assert dispatched.status_code in (200, 409), dispatched.text
    current = httpx.get(f"{dispatch_base}/v1/directives/{doc['id']}", headers=clerk, timeout=10).json()
    assert current["status"] == "dispatched", current
    return doc


def stack_headers(var: Path, subject: str, roles: list[str], unit: str, **extra: str) -> dict[str, str]:
    """``Authorization`` (plus ``extra`` headers) for a token the stack under ``var`` accepts, minted
    with its development key for any subject, roles and unit (persons added over REST included)."""
    settings = Settings()
    token = mint_token(
        (var / "keys" / "jwt-private.pem").read_bytes(),
        subject=subject,
        name=subject,
        roles=roles,
        unit=unit,
        issuer=settings.auth.issuer,
        audience=settings.auth.audience,
    )
    return {"Authorization": f"Bearer {token}", **extra}


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick), for a service the test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
