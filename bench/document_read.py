"""GET one document through directive-api vs a bare FastAPI primary-key lookup (wrk, alternating rounds).

directive-api's authenticated ``GET /v1/directives/{id}`` against ``bare_app`` doing the same lookup
with the same driver (asyncpg), both on PostgreSQL, one uvicorn worker each. Goal: ratio ≥ 0.6.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
from benchlib import (
    ROOT,
    Row,
    database,
    free_port,
    issue_letter,
    office_tokens,
    stop_processes,
    temp_dir,
    wait_all,
)

from common.testing import PostgresServer
from directive_api.cli import migrate, seed

GOAL = 0.6
NAME = "GET one document (auth, problems, response model) / bare FastAPI PK lookup, asyncpg, PostgreSQL, wrk"


def _wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> float:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses\n{output}")
    assert match, output
    return float(match.group(1))


def _serve(app: str, port: int, env: dict[str, str], *, factory: bool, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if factory:
        command.append("--factory")
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, cwd=ROOT / "bench", stdout=out, stderr=subprocess.STDOUT)


def run(server: PostgresServer, *, seconds: int, rounds: int, connections: int) -> Row:
    """Measure both endpoints in alternating wrk rounds; the figure is the ratio of mean req/s."""
    with temp_dir("bench-read-") as var, database(server, "bench_read") as url:
        processes: list[subprocess.Popen[bytes]] = []
        try:
            migrate(url)
            asyncio.run(seed(url))
            tokens, public_key = office_tokens(var / "keys")
            env = dict(os.environ)
            env.update(
                {
                    "DIRECTIVE_API_DATABASE__URL": url,
                    "DIRECTIVE_API_AUTH__PUBLIC_KEY_FILE": str(public_key),
                    "DIRECTIVE_API_FILES_DIR": str(var / "files"),
                    "DIRECTIVE_API_SIGNING__DEV_PKI_DIR": str(var / "pki"),
                    "BENCH_DATABASE_URL": url,
                    "PYTHONPATH": str(ROOT / "bench"),
                }
            )
            full_port, bare_port = free_port(), free_port()
            log = var / "services.log"
            processes.append(_serve("directive_api.main:create_app", full_port, env, factory=True, log=log))
            processes.append(_serve("bare_app:app", bare_port, env, factory=False, log=log))
            wait_all([f"http://127.0.0.1:{full_port}/readyz", f"http://127.0.0.1:{bare_port}/docs"], processes, log)

            async def issue() -> str:
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{full_port}") as client:
                    doc = await issue_letter(client, tokens)
                    return str(doc["id"])

            doc_id = asyncio.run(issue())
            full_url = f"http://127.0.0.1:{full_port}/v1/directives/{doc_id}"
            bare_url = f"http://127.0.0.1:{bare_port}/bare/{doc_id}"
            auth = {"Authorization": tokens.headers["monitor"]}
            _wrk(full_url, auth, 2, connections)  # warm-up
            _wrk(bare_url, {}, 2, connections)
            full, bare = [], []
            for _ in range(rounds):
                full.append(_wrk(full_url, auth, seconds, connections))
                bare.append(_wrk(bare_url, {}, seconds, connections))
        finally:
            stop_processes(processes)
    full_rps, bare_rps = sum(full) / rounds, sum(bare) / rounds
    ratio = full_rps / bare_rps
    return Row(
        NAME,
        f"{full_rps:.0f} / {bare_rps:.0f} req/s ({rounds}×{seconds} s, {connections} conn.)",
        f"{ratio:.2f}",
        f"≥ {GOAL}",
        ratio >= GOAL,
    )
