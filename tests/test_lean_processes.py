"""A web process loads only what it serves: WeasyPrint, pyHanko and the rest of the PDF stack live in
the PDF worker processes (common.pdf.pool), openpyxl and signxml load on the first export or exchange.

Each service is started in a fresh interpreter (its own ``sys.modules``), on a migrated SQLite file,
with the development keys and PKI ``make run`` uses; start-up runs (the lifespan: directive-api
starts and warms its PDF workers), ``/readyz`` answers and the OpenAPI document is served; then the interpreter
lists the modules it holds. The workers themselves did render, sign and seal meanwhile (their
warm-up), which the parent waits for: the lean parent is not lean because nothing happened.
directive-api also prints the outgoing register as PDF (a clerk's export): the workers render it too.

The command lines that serve nothing (migrate, verify-audit, check-invariants, mint-token) load
neither FastAPI nor Starlette: each command imports what it uses.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from stack_testing import stack_headers

from common.auth import ensure_dev_keys
from directive_api.cli import migrate as migrate_directive
from directive_api.cli import seed as seed_directive
from report_api.cli import migrate as migrate_report

HEAVY = (
    "weasyprint",
    "pyhanko",
    "pyhanko_certvalidator",
    "pydyf",
    "fontTools",
    "uharfbuzz",
    "openpyxl",
    "signxml",
    "alembic",  # /readyz reads the head revision from the files (common.app.migration_heads)
    "mako",
    "rich",  # httpx's command-line client, marked absent by common (the operator commands use rich)
    "pygments",
)
"""Packages an idle web process must not hold (each one is megabytes resident)."""
ONLY_WHERE_USED = {"directive_api": ("holidays", "PIL")}
"""What one service's web process loads only on the first request that needs it (directive-api counts
working days only for a document received over the exchange, report-api preloads its calendar; the
development PKI, drawn with Pillow, is created by a child process)."""

_PROBE = """
import json, sys
from {package}.main import create_app  # first, as in `serve` (the test client imports httpx)
from fastapi.testclient import TestClient

app = create_app()
with TestClient(app) as client:
    ready = client.get("/readyz").status_code
    read = client.get("/openapi.json").status_code
    warm = register = None
    if "{package}" == "directive_api":
        from common.pdf.pool import start_workers
        # The futures of the no-op jobs complete once every worker has warmed up (render, sign, seal).
        warm = [f.result(timeout=300) for f in start_workers()]
        export = client.get("/v1/registers/VPUB/HC/2026/export?format=pdf", headers={headers!r})
        register = [export.status_code, export.headers.get("content-type"), export.content[:5].decode("latin-1")]
    held = sorted({{m.split(".")[0] for m in sys.modules}})
print(json.dumps({{"ready": ready, "read": read, "warm": warm, "register": register, "modules": held}}))
"""


def _probe(package: str, env: dict[str, str], headers: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(package=package, headers=headers)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("package", ["directive_api", "report_api"])
def test_web_process_does_not_load_the_pdf_stack(package: str, tmp_path: Path) -> None:
    keys = ensure_dev_keys(tmp_path / "keys")
    url = f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
    (migrate_directive if package == "directive_api" else migrate_report)(url)
    if package == "directive_api":
        # The Office's register of 2026, still empty: its export prints the cover and the columns.
        asyncio.run(seed_directive(url))
        with sqlite3.connect(tmp_path / "service.db") as db:
            db.execute("INSERT INTO registers (issuer_code, code, year, last_number) VALUES ('VPUB', 'HC', 2026, 0)")
    prefix = "DIRECTIVE_API_" if package == "directive_api" else "REPORT_API_"
    env = {
        **os.environ,
        f"{prefix}DATABASE__URL": url,
        f"{prefix}AUTH__PUBLIC_KEY_FILE": str(keys.public_key_file),
        f"{prefix}RUN_WORKERS_IN_PROCESS": "false",
        "DIRECTIVE_API_FILES_DIR": str(tmp_path / "files"),
        "DIRECTIVE_API_SIGNING__DEV_PKI_DIR": str(tmp_path / "pki"),
        "DIRECTIVE_API_PDF_WORKERS": "1",
        "REPORT_API_EVIDENCE_DIR": str(tmp_path / "evidence"),
    }
    result = _probe(package, env, stack_headers(tmp_path, "vo-thi-thu", ["clerk"], "VPUB"))
    assert result["ready"] == 200 and result["read"] == 200, result
    if package == "directive_api":
        assert result["warm"] == [0]  # one worker, warm
        # The warm-up signed with the development PKI: made by the web process, used by the worker.
        assert (tmp_path / "pki" / "signer.p12").exists()
        assert result["register"] == [200, "application/pdf", "%PDF-"]  # printed, by a worker
    modules = result["modules"]
    assert isinstance(modules, list)
    assert "fastapi" in modules and package in modules  # the probe saw the real process
    assert [name for name in HEAVY + ONLY_WHERE_USED.get(package, ()) if name in modules] == []


_COMMAND = """
import json, sys
from {package}.cli import main
try:
    code = main({argv!r})
except SystemExit as stop:
    code = stop.code
print(json.dumps({{"code": code, "modules": sorted({{m.split(".")[0] for m in sys.modules}})}}))
"""

WEB_ONLY = ("fastapi", "starlette", "uvicorn", "weasyprint", "pyhanko")
"""What a command line that serves nothing must not import (FastAPI alone is seconds of CPU a command)."""


@pytest.mark.parametrize(
    ("package", "commands"),
    [
        ("directive_api", [["migrate"], ["verify-audit"], ["check-invariants"], ["mint-token", "vo-thi-thu"]]),
        ("report_api", [["migrate"], ["verify-audit"]]),
    ],
)
def test_command_lines_do_not_load_the_web_framework(package: str, commands: list[list[str]], tmp_path: Path) -> None:
    prefix = "DIRECTIVE_API_" if package == "directive_api" else "REPORT_API_"
    env = {**os.environ, f"{prefix}DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"}
    ensure_dev_keys(tmp_path / "keys")
    for argv in commands:
        argv = [*argv, "--keys", str(tmp_path / "keys")] if argv[0] == "mint-token" else argv
        done = subprocess.run(
            [sys.executable, "-c", _COMMAND.format(package=package, argv=argv)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["code"] in (0, None), (argv, done.stdout, done.stderr[-3000:])
        assert "sqlalchemy" in result["modules"] or argv[0] == "mint-token"  # the probe saw the real command
        assert [name for name in WEB_ONLY if name in result["modules"]] == [], argv
