"""The README's run command: both services as real processes over HTTP, and the seed walk."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import httpx
import run_local

from directive_api.walk import walk_seed_letter


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_embedded_stack_walks_the_seed_letter(tmp_path: Path) -> None:
    var = tmp_path / "var"
    directive_port, report_port = _free_port(), _free_port()
    processes = run_local.start(var, directive_port=directive_port, report_port=report_port)
    try:
        assert (var / "keys" / "jwt-private.pem").exists()
        assert (var / "directive-api.db").exists()
        out = io.StringIO()
        assert walk_seed_letter(f"http://127.0.0.1:{directive_port}", var / "keys", out=out) == 0
        text = out.getvalue()
        assert "✓ Số: 01/VPUB-TTĐH" in text
        assert "history: create → submit → return → edit → submit → approve → issue" in text
        report = httpx.get(f"http://127.0.0.1:{report_port}/openapi.json", timeout=10)
        assert report.json()["info"]["title"] == "report-api"
        unauthenticated = httpx.get(f"http://127.0.0.1:{directive_port}/v1/directives", timeout=10)
        assert unauthenticated.status_code == 401
        assert unauthenticated.headers["content-type"] == "application/problem+json"
    finally:
        run_local.stop(processes)
    # A second start reuses keys and data: the next issued letter gets number 02.
    processes = run_local.start(var, directive_port=directive_port, report_port=report_port)
    try:
        out = io.StringIO()
        walk_seed_letter(f"http://127.0.0.1:{directive_port}", var / "keys", out=out)
        assert "✓ Số: 02/VPUB-TTĐH" in out.getvalue()
    finally:
        run_local.stop(processes)
