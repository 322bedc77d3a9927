"""Helpers shared by the tests that run the services as real processes."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import run_local

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


@dataclass(frozen=True)
class Stack:
    """The stack ``make run`` starts (:func:`run_local.start`), in a test's folder."""

    var: Path
    base: str
    """directive-api's URL."""
    processes: list[subprocess.Popen[bytes]]
    """In start order (the development CA first)."""

    def headers(self, subject: str, roles: list[str], unit: str, **extra: str) -> dict[str, str]:
        """:func:`stack_headers` for this stack."""
        return stack_headers(self.var, subject, roles, unit, **extra)


PDF_WORKERS = 1
"""directive-api's PDF worker processes in the stacks the tests start: one, not one per core. Each
worker warms up at start (imports, a throw-away render, signature, seal and verification: seconds of
CPU), and with two test processes on two cores a second worker per stack only competes for them."""


@contextlib.contextmanager
def office_stack(tmp_path: Path) -> Iterator[Stack]:
    """``make run``'s stack with its state in ``tmp_path / "var"``, both services on free ports and
    :data:`PDF_WORKERS` PDF workers; stopped on exit (processes a test stopped before are left alone)."""
    var = tmp_path / "var"
    port = free_port()
    processes = run_local.start(var, directive_port=port, report_port=free_port(), pdf_workers=PDF_WORKERS)
    try:
        yield Stack(var, f"http://127.0.0.1:{port}", processes)
    finally:
        run_local.stop(processes)


def office_people(stack: Stack) -> dict[str, dict[str, str]]:
    """Headers of the Office's seeded administrator, drafter, signer (of the seed letter) and clerk."""
    people = {
        "admin": ("quan-tri-vien", "admin"),
        "drafter": ("tran-van-an", "drafter"),
        "signer": ("le-xuan-hoa", "signer"),
        "clerk": ("vo-thi-thu", "clerk"),
    }
    return {key: stack.headers(person, [role], "VPUB") for key, (person, role) in people.items()}


def submitted_letter(base: str, drafter: dict[str, str], letter: dict[str, Any]) -> dict[str, Any]:
    """``letter`` created (with an idempotency key) and submitted by ``drafter``; the document."""
    created = httpx.post(
        f"{base}/v1/directives", json=letter, headers={**drafter, "Idempotency-Key": str(uuid.uuid4())}, timeout=30
    )
    assert created.status_code == 201, created.text
    doc: dict[str, Any] = created.json()
    submitted = httpx.post(
        f"{base}/v1/directives/{doc['id']}/submit", headers={**drafter, "If-Match": doc["etag"]}, timeout=30
    )
    assert submitted.status_code == 200, submitted.text
    result: dict[str, Any] = submitted.json()
    return result


def set_signing_mode(base: str, admin: dict[str, str], person: str, mode: str, certificate: str) -> None:
    """The administrator switches ``person`` to ``mode`` (``client``, ``remote``) with ``certificate`` (PEM)."""
    etag = httpx.get(f"{base}/v1/people/{person}", headers=admin, timeout=10).headers["ETag"]
    changed = httpx.patch(
        f"{base}/v1/people/{person}",
        json={"signing_mode": mode, "signing_certificate": certificate},
        headers={**admin, "If-Match": etag},
        timeout=10,
    )
    assert changed.status_code == 200, changed.text
