"""Shared helpers of the benchmarks: result rows, percentiles, tokens, services on PostgreSQL, the issue walk."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

from run_local import service_env, stop, wait_ready  # noqa: E402

from common.auth import ensure_dev_keys, mint_token  # noqa: E402
from common.testing import PostgresServer, unique_name  # noqa: E402
from directive_api.seed.loader import seed_letter  # noqa: E402
from directive_api.settings import AUTH_AUDIENCE, AUTH_ISSUER  # noqa: E402

OFFICE_ROLES: dict[str, str] = {
    "drafter": "tran-van-an",
    "signer": "le-xuan-hoa",
    "clerk": "vo-thi-thu",
    "monitor": "dang-minh-khoa",
}


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    benchmark: str
    measured: str
    figure: str
    goal: str
    ok: bool | None
    """None: not measured (error)."""
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "ERROR" if self.ok is None else ("ok" if self.ok else "MISSED")


def failed_row(benchmark: str, goal: str, error: BaseException) -> Row:
    """A row for a benchmark that could not run."""
    message = f"{type(error).__name__}: {error}".replace("\n", " ").replace("|", "/")[:300]
    return Row(benchmark, "not measured", message, goal, None)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def get_latencies(client: httpx.Client, path: str, headers: dict[str, str], count: int) -> list[float]:
    """Seconds each of ``count`` sequential GETs of ``path`` took (a failed answer raises)."""
    out: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        out.append(time.perf_counter() - started)
        response.raise_for_status()
    return out


def _cpu_times() -> tuple[int, int] | None:
    """(idle, total) jiffies of all CPUs from /proc/stat, or None where there is no such file."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + fields[4], sum(fields)


def quiesce(*, idle: float = 0.9, window: float = 0.5, limit: float = 20.0) -> float:
    """Wait until the machine is quiet: the CPUs at least ``idle`` idle over ``window`` seconds (what a
    previous benchmark left behind, such as PostgreSQL's autovacuum or a process still exiting, would
    otherwise be measured as part of the next one). Gives up after ``limit`` seconds.

    Returns:
        The idle share of the last window (1.0 where /proc/stat is not available).
    """
    deadline = time.monotonic() + limit
    share = 1.0
    while True:
        before = _cpu_times()
        time.sleep(window)
        after = _cpu_times()
        if before is None or after is None:
            return 1.0
        share = (after[0] - before[0]) / max(after[1] - before[1], 1)
        if share >= idle or time.monotonic() >= deadline:
            return share


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder removed on exit, even on failure."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def database(server: PostgresServer, prefix: str) -> Iterator[str]:
    """A throw-away PostgreSQL database (asyncpg URL), dropped on exit."""
    name = unique_name(prefix)
    url = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)


@dataclass(frozen=True)
class Tokens:
    """Bearer headers for the Office's people, and a minting function for anyone else."""

    private_key: bytes
    headers: dict[str, str]

    def bearer(self, subject: str, roles: list[str], unit: str | None) -> str:
        return "Bearer " + mint_token(
            self.private_key,
            subject=subject,
            roles=roles,
            unit=unit,
            name=subject,
            issuer=AUTH_ISSUER,
            audience=AUTH_AUDIENCE,
        )


def office_tokens(keys_dir: Path) -> tuple[Tokens, Path]:
    """Tokens of the seed people (drafter, signer, clerk, monitor of VPUB) and the public key file."""
    keys = ensure_dev_keys(keys_dir)
    private = keys.private_key_file.read_bytes()
    headers = {
        role: "Bearer "
        + mint_token(
            private,
            subject=person,
            roles=[role],
            unit="VPUB",
            name=person,
            issuer=AUTH_ISSUER,
            audience=AUTH_AUDIENCE,
            ttl_seconds=4 * 3600,
        )
        for role, person in OFFICE_ROLES.items()
    }
    return Tokens(private, headers), keys.public_key_file


def services_env(
    var: Path, *, directive_port: int, report_port: int, directive_db: str, report_db: str
) -> dict[str, str]:
    """run_local's environment of both services (relay in-process, webhook secrets), on PostgreSQL."""
    env = service_env(var, directive_port=directive_port, report_port=report_port)
    env["DIRECTIVE_API_DATABASE__URL"] = directive_db
    env["REPORT_API_DATABASE__URL"] = report_db
    return env


def start_service(
    command: str, port: int, env: dict[str, str], log: Path, *, extra: Sequence[str] = (), niceness: int = 0
) -> subprocess.Popen[bytes]:
    """``directive-api serve`` or ``report-api serve`` (migrates, seeds, one uvicorn worker) on ``port``;
    ``extra`` arguments for ``serve``, ``niceness`` added to the process's own."""
    binary = Path(sys.executable).parent / command
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(binary), "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.nice(niceness)) if niceness else None,
        )


def stop_processes(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process we started, SIGKILL after 15 s (a service flushing its PDF workers)."""
    stop(processes, grace=15)


def wait_all(urls: Sequence[str], processes: Sequence[subprocess.Popen[bytes]], log: Path) -> None:
    """Wait until every URL answers 200; on failure show the service log."""
    try:
        for url in urls:
            wait_ready(url, timeout=300)  # a loaded 2-core machine starts the PDF stack slowly
    except TimeoutError:
        dead = [p.args for p in processes if p.poll() is not None]
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(f"services not ready (exited: {dead})\n{tail}") from None


def letter(**changes: Any) -> dict[str, Any]:
    """The seed letter's creation body, with ``changes`` applied."""
    body: dict[str, Any] = seed_letter()
    body.update(changes)
    return body


class IssueError(RuntimeError):
    """A step of the issue walk did not answer 2xx."""


async def issue_letter(
    client: httpx.AsyncClient, tokens: Tokens, body: dict[str, Any] | None = None, *, request_timeout: float = 120
) -> dict[str, Any]:
    """Create → submit → approve (render + sign) → issue (number + seal) through the API."""

    async def act(doc: dict[str, Any], action: str, who: str) -> dict[str, Any]:
        response = await client.post(
            f"/v1/directives/{doc['id']}/{action}",
            headers={"Authorization": tokens.headers[who], "If-Match": doc["etag"]},
            timeout=request_timeout,
        )
        if response.status_code >= 300:
            raise IssueError(f"{action}: {response.status_code} {response.text[:300]}")
        result: dict[str, Any] = response.json()
        return result

    created = await client.post(
        "/v1/directives",
        json=body if body is not None else letter(),
        headers={"Authorization": tokens.headers["drafter"]},
        timeout=request_timeout,
    )
    if created.status_code >= 300:
        raise IssueError(f"create: {created.status_code} {created.text[:300]}")
    doc = await act(created.json(), "submit", "drafter")
    doc = await act(doc, "approve", "signer")
    return await act(doc, "issue", "clerk")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def office_timezone(now: dt.datetime) -> str:
    """Asia/Ho_Chi_Minh, unless it is past 16:00 there: issued letters would then be dispatched at once
    by directive-api's timer (same-day dispatch at 17:00), so a zone where it is morning is used."""
    if 2 <= (now.hour + 7) % 24 < 16:
        return "Asia/Ho_Chi_Minh"
    for offset in sorted(range(-12, 15), key=abs):
        if 6 <= (now.hour + offset) % 24 < 14:
            return f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"
    return "Etc/UTC"


def start_directive_api_alone(
    var: Path,
    url: str,
    processes: list[subprocess.Popen[bytes]],
    *,
    replica: bool = False,
    niceness: int = 0,
    environment: dict[str, str] | None = None,
) -> tuple[Tokens, str]:
    """``directive-api serve`` on ``url`` with no subscribers, no in-process workers and an office time
    zone where it is before 16:00 (no same-day dispatch); appended to ``processes``, ready.
    ``replica``: one more process on a database another one has set up (no migrations, no seeding).
    ``environment``: settings added to the process's environment.

    Returns:
        The office's tokens and the service's base URL.
    """
    tokens, _ = office_tokens(var / "keys")
    port = free_port()
    env = services_env(var, directive_port=port, report_port=free_port(), directive_db=url, report_db=url)
    env["DIRECTIVE_API_SUBSCRIBERS"] = json.dumps([])
    env["DIRECTIVE_API_RUN_WORKERS_IN_PROCESS"] = "false"
    env["DIRECTIVE_API_TIMEZONE"] = office_timezone(dt.datetime.now(dt.UTC))
    env.update(environment or {})
    log = var / f"directive-api-{port}.log"
    extra = ["--no-migrate"] if replica else []
    processes.append(start_service("directive-api", port, env, log, extra=extra, niceness=niceness))
    base = f"http://127.0.0.1:{port}"
    wait_all([f"{base}/readyz"], processes, log)
    return tokens, base


@dataclass(frozen=True)
class OfficeStack:
    """Both services as processes (``serve``, one worker each) on their own PostgreSQL databases,
    wired like scripts/run_local.py (directive-api's in-process relay to report-api's inbox)."""

    var: Path
    tokens: Tokens
    directive_db: str
    base: str
    """directive-api's URL."""
    report_base: str
    log: Path
    """Where every process of the stack writes."""


@contextlib.contextmanager
def office_stack(
    server: PostgresServer,
    name: str,
    *,
    before: Callable[[Path, Path, list[subprocess.Popen[bytes]]], dict[str, str]] | None = None,
) -> Iterator[OfficeStack]:
    """Start :class:`OfficeStack` (databases ``bench_<name>_d``/``_r``, an office time zone where it
    is before 16:00) and stop it on exit. ``before(var, log, processes)`` starts what the services
    talk to (a hub double…), appends it to ``processes`` and returns settings for their environment."""
    with (
        temp_dir(f"bench-{name}-") as var,
        database(server, f"bench_{name}_d") as directive_db,
        database(server, f"bench_{name}_r") as report_db,
    ):
        processes: list[subprocess.Popen[bytes]] = []
        try:
            tokens, _ = office_tokens(var / "keys")
            log = var / "services.log"
            extra = before(var, log, processes) if before is not None else {}
            d_port, r_port = free_port(), free_port()
            env = services_env(
                var, directive_port=d_port, report_port=r_port, directive_db=directive_db, report_db=report_db
            )
            env["DIRECTIVE_API_TIMEZONE"] = office_timezone(dt.datetime.now(dt.UTC))
            env.update(extra)
            processes.append(start_service("directive-api", d_port, env, log))
            processes.append(start_service("report-api", r_port, env, log))
            base, report_base = f"http://127.0.0.1:{d_port}", f"http://127.0.0.1:{r_port}"
            wait_all([f"{base}/readyz", f"{report_base}/readyz"], processes, log)
            yield OfficeStack(var, tokens, directive_db, base, report_base, log)
        finally:
            stop_processes(processes)


def libpq(url: str) -> str:
    """An SQLAlchemy URL as psycopg takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def replace_communes(directive_db: str, tag: str, count: int, organ_id: Callable[[int], str] | None = None) -> None:
    """Deactivate every unit of ``commune_level`` and add ``count`` synthetic active ones (codes
    ``X<tag><i>``), with the organ id ``organ_id(i)`` when given."""
    columns = "code, name, short_name, kind, group_code, is_active" + (", organ_id" if organ_id else "")
    with psycopg.connect(libpq(directive_db)) as connection:
        connection.execute("UPDATE units SET is_active = false WHERE group_code = 'commune_level'")
        with connection.cursor().copy(f"COPY units ({columns}) FROM STDIN") as copy:
            for i in range(count):
                row = (
                    f"X{tag}{i:05d}",
                    f"Ủy ban nhân dân xã thử nghiệm {tag}-{i}",
                    f"UBND xã {tag}-{i}",
                    "commune",
                    "commune_level",
                    True,
                )
                copy.write_row((*row, organ_id(i)) if organ_id else row)
