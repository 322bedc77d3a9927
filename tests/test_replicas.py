"""Two instances of each service and of each worker on one PostgreSQL: nothing is done twice.

directive-api ×2 (web) + its relay ×2, report-api ×2 (web) + its timer worker ×2, as real processes.
The seed letter is issued through one instance and dispatched through the other; report-api gets
every obligation once; documents issued concurrently through both instances get distinct,
consecutive numbers; reminders that come due are fired once each by the two timer workers.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from stack_testing import PDF_WORKERS, dispatch_walked_letter, stack_headers

from common.auth import ensure_dev_keys
from common.testing import PostgresServer, unique_name
from common.webhooks import generate_secret
from directive_api.cli import migrate as migrate_directive
from directive_api.cli import seed as seed_directive
from directive_api.cli.walk import tokens as seed_tokens
from directive_api.cli.walk import walk_seed_letter
from directive_api.seed.loader import seed_letter
from report_api.cli import migrate as migrate_report

BIN = Path(sys.executable).parent


pytestmark = pytest.mark.slow  # real processes of both services (a whole stack)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(check: Callable[[], bool], what: str, timeout: float = 90, describe: Callable[[], str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f": {describe()}" if describe else ""))
        time.sleep(0.3)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _rows(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(_libpq(url)) as connection:
        return list(connection.execute(sql, params).fetchall())  # type: ignore[arg-type]


@pytest.fixture
def stack(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[dict[str, Any]]:
    names = {"directive": unique_name("replica_dir"), "report": unique_name("replica_rep")}
    urls = {key: postgres_server.create_database(name) for key, name in names.items()}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        migrate_directive(urls["directive"])
        asyncio.run(seed_directive(urls["directive"]))
        migrate_report(urls["report"])
        keys = ensure_dev_keys(tmp_path / "keys")
        ports = {name: _port() for name in ("a1", "a2", "b1", "b2")}
        to_report, to_directive = generate_secret(), generate_secret()
        env = {
            **os.environ,
            "DIRECTIVE_API_DATABASE__URL": urls["directive"],
            "DIRECTIVE_API_AUTH__PUBLIC_KEY_FILE": str(keys.public_key_file),
            "DIRECTIVE_API_FILES_DIR": str(tmp_path / "files"),
            "DIRECTIVE_API_SIGNING__DEV_PKI_DIR": str(tmp_path / "pki"),
            "DIRECTIVE_API_WEBHOOKS__ALLOW_HOSTS": json.dumps([f"http://127.0.0.1:{ports['b1']}"]),
            "DIRECTIVE_API_WEBHOOKS__POLL_INTERVAL_SECONDS": "0.2",
            "DIRECTIVE_API_SUBSCRIBERS": json.dumps(
                [
                    {
                        "owner": "report-api",
                        "url": f"http://127.0.0.1:{ports['b1']}/v1/inbox/events",
                        "secret": to_report,
                        "event_types": ["directive.*", "delivery.*"],
                    }
                ]
            ),
            "DIRECTIVE_API_INBOX_SECRETS": json.dumps([to_directive]),
            "REPORT_API_DATABASE__URL": urls["report"],
            "REPORT_API_AUTH__PUBLIC_KEY_FILE": str(keys.public_key_file),
            "REPORT_API_WEBHOOK_SECRETS": to_report,
            "REPORT_API_DIRECTIVE_API_INBOX_URL": f"http://127.0.0.1:{ports['a2']}/v1/inbox/events",
            "REPORT_API_DIRECTIVE_API_INBOX_SECRET": to_directive,
            "REPORT_API_WEBHOOKS__ALLOW_HOSTS": json.dumps([f"http://127.0.0.1:{ports['a2']}"]),
            "REPORT_API_WEBHOOKS__POLL_INTERVAL_SECONDS": "0.2",
            "REPORT_API_EVIDENCE_DIR": str(tmp_path / "evidence"),
            "DIRECTIVE_API_PDF_WORKERS": str(PDF_WORKERS),
            "LOG_LEVEL": "warning",
        }
        log = open(tmp_path / "processes.log", "wb")  # noqa: SIM115 - closed with the processes
        commands = [
            ["directive-api", "serve", "--no-migrate", "--port", str(ports["a1"])],
            ["directive-api", "serve", "--no-migrate", "--port", str(ports["a2"])],
            ["directive-api", "relay"],
            ["directive-api", "relay"],
            ["report-api", "serve", "--no-migrate", "--port", str(ports["b1"])],
            ["report-api", "serve", "--no-migrate", "--port", str(ports["b2"])],
            ["report-api", "run-timers", "--interval", "0.2"],
            ["report-api", "run-timers", "--interval", "0.2"],
        ]
        for command in commands:
            processes.append(subprocess.Popen([str(BIN / command[0]), *command[1:]], env=env, stdout=log, stderr=log))
        for name in ("a1", "a2", "b1", "b2"):
            # The web processes warm their PDF pools at once on two cores: on a loaded host that takes
            # minutes, not seconds; the log says what they were doing when time ran out.
            _wait(
                lambda name=name: _ready(f"http://127.0.0.1:{ports[name]}/readyz"),  # type: ignore[misc]
                f"{name} to be ready",
                240,
                describe=lambda: (tmp_path / "processes.log").read_text(errors="replace")[-3000:],
            )
        yield {"urls": urls, "ports": ports, "keys": tmp_path / "keys", "private": keys.private_key_file.read_bytes()}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                assert process.wait(timeout=20) in (0, -15), "a process did not drain and stop cleanly on SIGTERM"
            except subprocess.TimeoutExpired:
                process.kill()
        for name in names.values():
            postgres_server.drop_database(name)


def test_two_of_everything_does_everything_once(stack: dict[str, Any]) -> None:
    ports, urls = stack["ports"], stack["urls"]
    a1, a2 = f"http://127.0.0.1:{ports['a1']}", f"http://127.0.0.1:{ports['a2']}"
    b2 = f"http://127.0.0.1:{ports['b2']}"
    tokens = seed_tokens(stack["keys"])
    clerk = {"Authorization": f"Bearer {tokens['vo-thi-thu']}"}
    monitor = {"Authorization": f"Bearer {tokens['dang-minh-khoa']}"}

    walk_seed_letter(a1, stack["keys"], out=io.StringIO())
    doc = dispatch_walked_letter(a1, a2, clerk)

    def total() -> int:
        response = httpx.get(f"{b2}/v1/directives/{doc['id']}/compliance", headers=monitor, timeout=10)
        return int(response.json().get("total", 0)) if response.status_code == 200 else 0

    _wait(lambda: total() == 122, "report-api to hold the 122 obligations")

    # Issue ten more documents, five through each instance, at the same time: numbers 02..11.
    def approved() -> dict[str, Any]:
        with httpx.Client(timeout=60) as client:
            made = client.post(
                f"{a1}/v1/directives", json=seed_letter(), headers={"Authorization": f"Bearer {tokens['tran-van-an']}"}
            ).json()
            for action, person in (("submit", "tran-van-an"), ("approve", "le-xuan-hoa")):
                made = client.post(
                    f"{a2}/v1/directives/{made['id']}/{action}",
                    headers={"Authorization": f"Bearer {tokens[person]}", "If-Match": made["etag"]},
                ).json()
            return made

    drafts = [approved() for _ in range(10)]

    async def issue_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            return list(
                await asyncio.gather(
                    *(
                        client.post(
                            f"{(a1, a2)[i % 2]}/v1/directives/{d['id']}/issue", headers={**clerk, "If-Match": d["etag"]}
                        )
                        for i, d in enumerate(drafts)
                    )
                )
            )

    issued = asyncio.run(issue_all())
    assert [r.status_code for r in issued] == [200] * 10
    assert sorted(r.json()["number"] for r in issued) == list(range(2, 12))

    # Every delivery once; every obligation once; every event applied once. (After 17:00 office
    # time the ten new letters are dispatched by the timer too: each must also be dispatched once.)
    by_document = "SELECT count(*), count(DISTINCT unit_code) FROM {} WHERE directive_id::text = %s"
    assert _rows(urls["directive"], by_document.format("deliveries"), (doc["id"],)) == [(130, 130)]
    assert _rows(urls["report"], by_document.format("obligations"), (doc["id"],)) == [(122, 122)]
    once = "SELECT count(*) = count(DISTINCT (directive_id, unit_code)) FROM {}"
    assert _rows(urls["directive"], once.format("deliveries")) == [(True,)]
    assert _rows(urls["report"], once.format("obligations")) == [(True,)]

    def all_delivered() -> bool:
        pending = _rows(
            urls["directive"],
            "SELECT (SELECT count(*) FROM outbox_events WHERE sequence IS NULL)"
            " + (SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered')"
            " + (SELECT count(*) FROM outbox_events) - (SELECT count(*) FROM webhook_deliveries)",
        )
        return pending == [(0,)]

    def undelivered() -> str:
        return repr(
            _rows(
                urls["directive"],
                "SELECT e.type, e.sequence, d.status, d.attempts, d.last_status_code, d.last_error, d.next_attempt_at,"
                " d.claimed_until FROM outbox_events e LEFT JOIN webhook_deliveries d ON d.event_id = e.id"
                " WHERE d.status IS DISTINCT FROM 'delivered' ORDER BY e.sequence LIMIT 20",
            )
        )

    # Both relays (and both timer workers) registered the configured subscriber at start-up: one row each.
    subscription = "SELECT owner, active FROM webhook_subscriptions"
    assert _rows(urls["directive"], subscription) == [("report-api", True)]
    assert _rows(urls["report"], subscription) == [("directive-api", True)]
    _wait(all_delivered, "every event to be sequenced and delivered", describe=undelivered)
    events = _rows(urls["directive"], "SELECT count(*) FROM outbox_events")[0][0]
    assert _rows(urls["directive"], "SELECT count(*), count(DISTINCT event_id) FROM webhook_deliveries") == [
        (events, events)
    ]
    received = _rows(urls["report"], "SELECT count(*) FROM received_events")[0][0]
    assert received == events

    # Time passes: the first reminder timers of every obligation come due. Two timer workers fire each once.
    due = _rows(
        urls["report"],
        "SELECT count(*) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL",
    )[0][0]
    assert due >= 122
    with psycopg.connect(_libpq(urls["report"]), autocommit=True) as connection:
        connection.execute(
            "UPDATE timers SET due_at = now() - interval '1 minute' WHERE id IN "
            "(SELECT min(id) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL GROUP BY obligation_id)"
        )
    _wait(
        lambda: (
            _rows(
                urls["report"],
                "SELECT count(*) FROM timers WHERE due_at < now() AND fired_at IS NULL AND cancelled_at IS NULL",
            )
            == [(0,)]
        ),
        "both timer workers to fire the due reminders",
    )
    fired = _rows(urls["report"], "SELECT count(*) FROM timers WHERE fired_at IS NOT NULL")[0][0]
    assert fired >= 122
    reminders = _rows(urls["report"], "SELECT count(*), count(DISTINCT (obligation_id, kind, sequence)) FROM reminders")
    assert reminders[0][0] == reminders[0][1]
    assert reminders[0][0] >= 122
    # Each obligation got its first automatic reminder exactly once.
    assert _rows(
        urls["report"],
        "SELECT max(n) FROM (SELECT count(*) AS n FROM reminders WHERE sequence = 1 GROUP BY obligation_id, kind) s",
    ) == [(1,)]
    ward = stack_headers(stack["keys"].parent, "officer", ["unit_officer"], "X31299")
    assert httpx.get(f"{b2}/v1/me/obligations", headers=ward, timeout=10).status_code == 200
