"""Fault test: PostgreSQL is restarted under load; directive-api degrades to 503 and heals by itself.

directive-api runs as a real process on a fresh, migrated and seeded PostgreSQL database of a
cluster of its own (PostgreSQL 15's ``initdb`` in a temporary folder, on a free port: restarting it
disturbs no other test, so this one runs in the parallel part of ``make test``). Two client threads
list documents and create drafts without pause while the test restarts the cluster twice:
``pg_ctl restart`` and stop, 2 s, start.

- every answer is a success or a 503 ``application/problem+json`` with ``Retry-After`` — never a
  500, never a request left hanging past the client's timeout;
- the service recovers without being restarted: reads and writes succeed again within 20 s after
  PostgreSQL is back;
- nothing is half-written: every draft the client was told was created exists with its one history
  entry, and ``directive-api check-invariants`` exits 0.

The cluster is always started again (and waited for) in ``finally``, and removed at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from security_testing import letter_to

from common.auth import ensure_dev_keys
from common.testing import PostgresServer
from directive_api.cli import migrate as migrate_directive
from directive_api.cli import seed as seed_directive
from directive_api.cli.walk import tokens as seed_tokens

BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")  # Debian's PostgreSQL 15 (scripts/ensure-postgres)
REQUEST_TIMEOUT = 15.0
RECOVERY_SECONDS = 20.0


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class Cluster:
    """A PostgreSQL cluster of this test's own: ``initdb`` in a temporary folder, served on a free
    loopback port (run as the ``postgres`` user when the tests run as root, as ``initdb`` requires)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="pg-restart-"))
        self.data = self.folder / "data"
        self.port = _port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        self.server = PostgresServer(admin_url=f"postgresql://postgres@127.0.0.1:{self.port}/postgres")

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [str(PG_BIN / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=check, capture_output=True, timeout=60)

    def ctl(self, action: str, *, check: bool = True) -> None:
        """``pg_ctl start|stop|restart`` (fast shutdown, as ``pg_ctlcluster``'s), waiting until done."""
        mode = ["-m", "fast"] if action != "start" else []
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        log = str(self.folder / "log")
        self._run("pg_ctl", action, "-D", str(self.data), "-w", *mode, "-o", options, "-l", log, check=check)

    def is_ready(self) -> bool:
        command = ["pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-q"]
        return subprocess.run(command, check=False).returncode == 0

    def ensure_running(self) -> None:
        if not self.is_ready():
            self.ctl("start", check=False)
        _wait(self.is_ready, "PostgreSQL to accept connections again", 60)

    def remove(self) -> None:
        self.ctl("stop", check=False)  # whatever state the test left it in (already stopped: a no-op)
        shutil.rmtree(self.folder, ignore_errors=True)


def _rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url.replace("postgresql+asyncpg://", "postgresql://")) as connection:
        return list(connection.execute(query, params).fetchall())


@dataclass
class Outcome:
    at: float
    kind: str
    status: int
    retry_after: str | None
    content_type: str
    body: str
    subject: str | None = None
    created_id: str | None = None
    error: str | None = None


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    made = Cluster()
    try:
        made.ctl("start")
        yield made
    finally:
        made.remove()


@pytest.fixture
def service(cluster: Cluster, tmp_path: Path) -> Iterator[dict[str, Any]]:
    database_url = cluster.server.create_database("pg_restart")
    process: subprocess.Popen[bytes] | None = None
    try:
        migrate_directive(database_url)
        asyncio.run(seed_directive(database_url))
        keys = ensure_dev_keys(tmp_path / "keys")
        port = _port()
        env = {
            **os.environ,
            "DIRECTIVE_API_DATABASE__URL": database_url,
            "DIRECTIVE_API_AUTH__PUBLIC_KEY_FILE": str(keys.public_key_file),
            "DIRECTIVE_API_FILES_DIR": str(tmp_path / "files"),
            "DIRECTIVE_API_SIGNING__DEV_PKI_DIR": str(tmp_path / "pki"),
            "LOG_LEVEL": "warning",
        }
        log_path = tmp_path / "directive-api.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [str(BIN / "directive-api"), "serve", "--no-migrate", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=log,
            )
            _wait(lambda: _ready(f"http://127.0.0.1:{port}/readyz"), "directive-api to be ready")
            yield {
                "cluster": cluster,
                "base": f"http://127.0.0.1:{port}",
                "url": database_url,
                "env": env,
                "keys": tmp_path / "keys",
                "log": log_path,
                "process": process,
            }
    finally:
        cluster.ensure_running()
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _issue_documents(base: str, tokens: dict[str, str], count: int) -> None:
    def auth(person: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[person]}"}

    with httpx.Client(base_url=base, timeout=60) as client:
        for _ in range(count):
            made = client.post("/v1/directives", json=letter_to(), headers=auth("tran-van-an"))
            assert made.status_code == 201, made.text
            doc = made.json()
            for action, person in (("submit", "tran-van-an"), ("approve", "le-xuan-hoa"), ("issue", "vo-thi-thu")):
                answer = client.post(
                    f"/v1/directives/{doc['id']}/{action}", headers={**auth(person), "If-Match": doc["etag"]}
                )
                assert answer.status_code == 200, (action, answer.text)
                doc = answer.json()
            assert doc["status"] == "issued"


class Load:
    """Client threads that list documents and create drafts until stopped, recording every answer."""

    def __init__(self, base: str, tokens: dict[str, str], workers: int = 2) -> None:
        self.base = base
        self.drafter = {"Authorization": f"Bearer {tokens['tran-van-an']}"}
        self.reader = {"Authorization": f"Bearer {tokens['vo-thi-thu']}"}
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(workers)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)
        assert not any(t.is_alive() for t in self.threads), "a client thread hung"

    def _run(self, worker: int) -> None:
        with httpx.Client(base_url=self.base, timeout=REQUEST_TIMEOUT) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                create = (n + worker) % 2 == 0
                subject = f"kiểm thử khởi động lại CSDL {uuid.uuid4().hex[:12]}" if create else None
                started = time.monotonic()
                try:
                    if create:
                        body = {**letter_to(), "subject": subject}
                        response = client.post("/v1/directives", json=body, headers=self.drafter)
                    else:
                        response = client.get("/v1/directives", params={"limit": 20}, headers=self.reader)
                except httpx.HTTPError as exc:
                    outcome = Outcome(
                        started, "create" if create else "list", 0, None, "", "", subject, None, repr(exc)
                    )
                else:
                    created = response.json().get("id") if create and response.status_code == 201 else None
                    outcome = Outcome(
                        started,
                        "create" if create else "list",
                        response.status_code,
                        response.headers.get("retry-after"),
                        response.headers.get("content-type", ""),
                        response.text[:300],
                        subject,
                        created,
                    )
                with self.lock:
                    self.outcomes.append(outcome)
                if outcome.status != 201 and outcome.status != 200:
                    time.sleep(0.1)

    def since(self, moment: float) -> list[Outcome]:
        with self.lock:
            return [o for o in self.outcomes if o.at >= moment]


def _recovered_at(load: Load, back: float) -> float:
    """Seconds after ``back`` until both a list and a create succeeded (started after ``back``)."""
    deadline = back + RECOVERY_SECONDS + REQUEST_TIMEOUT
    while time.monotonic() < deadline:
        done = load.since(back)
        firsts = [
            min((o.at for o in done if o.kind == kind and o.status in (200, 201)), default=None)
            for kind in ("list", "create")
        ]
        if all(f is not None for f in firsts):
            return max(f for f in firsts if f is not None) - back
        time.sleep(0.2)
    raise AssertionError(f"the service did not recover within {RECOVERY_SECONDS} s after PostgreSQL came back")


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_restart_under_load_gives_503_then_heals(service: dict[str, Any]) -> None:
    base, cluster = service["base"], service["cluster"]
    tokens = seed_tokens(service["keys"])
    _issue_documents(base, tokens, 2)
    report: list[str] = []
    with Load(base, tokens) as load:
        time.sleep(1.5)
        for mode in ("restart", "stop-start"):
            begun = time.monotonic()
            try:
                if mode == "restart":
                    cluster.ctl("restart")
                else:
                    cluster.ctl("stop")
                    time.sleep(2)
                    cluster.ctl("start")
                _wait(cluster.is_ready, "PostgreSQL to accept connections", 60)
            finally:
                cluster.ensure_running()
            back = time.monotonic()
            recovery = _recovered_at(load, back)
            assert recovery <= RECOVERY_SECONDS, (mode, recovery)
            time.sleep(1.5)
            seen = load.since(begun)
            counts: dict[int, int] = {}
            for o in seen:
                counts[o.status] = counts.get(o.status, 0) + 1
            report.append(f"{mode}: outage {back - begun:.1f} s, answers {counts}, recovered after {recovery:.1f} s")
        time.sleep(1)
    outcomes = load.outcomes
    print("\n".join(["postgres restart:", *report, f"total answers: {len(outcomes)}"]))  # noqa: T201

    # Every answer: a success, or a 503 problem with Retry-After. No 500, no transport error or timeout.
    bad = [
        o
        for o in outcomes
        if not (
            (o.kind == "list" and o.status == 200)
            or (o.kind == "create" and o.status == 201)
            or (o.status == 503 and o.retry_after is not None and o.content_type.startswith("application/problem+json"))
        )
    ]
    assert not bad, [(o.kind, o.status, o.error or o.body) for o in bad[:10]]
    assert sum(o.status == 503 for o in outcomes) >= 1, "the outage was not observed by the client"
    assert service["process"].poll() is None, "directive-api exited"

    # Nothing half-written: every draft the client was told about exists, with its one history entry.
    created = {o.created_id: o.subject for o in outcomes if o.created_id}
    assert len(created) >= 4, len(created)
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as client:
        for doc_id, subject in created.items():
            headers = {"Authorization": f"Bearer {tokens['tran-van-an']}"}
            doc = client.get(f"/v1/directives/{doc_id}", headers=headers)
            assert doc.status_code == 200, doc.text
            assert doc.json()["subject"] == subject
            history = client.get(f"/v1/directives/{doc_id}/history", headers=headers)
            assert history.status_code == 200, history.text
            assert [h["action"] for h in history.json()] == ["create"], history.text
    # Drafts of this run that the client was refused (503): if one was committed anyway (the answer
    # was lost, not the transaction), it is whole: one history entry, like any other.
    per_doc = _rows(
        service["url"],
        "SELECT d.id::text, count(h.*) FROM directives d LEFT JOIN directive_history h ON h.directive_id = d.id"
        " WHERE d.subject LIKE %s GROUP BY d.id",
        "kiểm thử khởi động lại CSDL %",
    )
    assert all(n == 1 for _, n in per_doc), per_doc
    assert {i for i, _ in per_doc} >= set(created), "a created draft is missing"
    checked = subprocess.run(
        [str(BIN / "directive-api"), "check-invariants"],
        env=service["env"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
