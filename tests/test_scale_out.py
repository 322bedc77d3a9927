"""Scale-out: 3 directive-api replicas, 2 relays, 2 report-api replicas and 2 timer workers on one
PostgreSQL, each behind a round-robin proxy, issue and dispatch documents to 122 units each while one
directive-api replica and one relay are killed (SIGKILL) and restarted.

Every number is gapless (1..N in the register, each once), every obligation exists once (N × 122),
every event of each service is delivered once to its one subscriber and applied once there.

``SCALE_OUT_DOCUMENTS`` sets N, default 200 (the scenario of issue 21); ``SCALE_OUT_CONCURRENCY`` the
documents walked at once (default 6). Measured on 2 cores at load ≈ 3: 171 s in all (start 37 s, walk
130 s, 92 documents per minute, settle 3 s), 279 s in a second run as other work started; on a host
shared with other work it takes far longer
(docs/operations.md has the figures, and the CPU seconds per document this test prints). The
workers poll at the services' default interval: PostgreSQL ``NOTIFY`` wakes them on a commit, and a
faster poll only burnt CPU the walk needs (measured side by side).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from common.auth import ensure_dev_keys
from common.testing import PostgresServer, unique_name
from common.webhooks import generate_secret
from directive_api.cli import migrate as migrate_directive
from directive_api.cli import seed as seed_directive
from directive_api.cli.walk import tokens as seed_tokens
from directive_api.seed.loader import seed_letter
from report_api.cli import migrate as migrate_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from scale_stack import RoundRobinProxy, Stack, issue_and_dispatch, serve_proxy

DOCUMENTS = int(os.environ.get("SCALE_OUT_DOCUMENTS", "200"))
CONCURRENCY = int(os.environ.get("SCALE_OUT_CONCURRENCY", "6"))
UNITS = 122


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url.replace("postgresql+asyncpg://", "postgresql://")) as connection:
        return list(connection.execute(sql).fetchall())  # type: ignore[arg-type]


def _wait(check: Any, what: str, timeout: float, describe: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f": {describe()}" if describe else ""))
        time.sleep(0.5)


@pytest.fixture
def databases(postgres_server: PostgresServer) -> Iterator[dict[str, str]]:
    names = {"directive": unique_name("scale_dir"), "report": unique_name("scale_rep")}
    urls = {key: postgres_server.create_database(name) for key, name in names.items()}
    try:
        migrate_directive(urls["directive"])  # the start-up job: migrations, then the directory
        asyncio.run(seed_directive(urls["directive"]))
        migrate_report(urls["report"])
        yield urls
    finally:
        for name in names.values():
            postgres_server.drop_database(name)


@pytest.mark.serial  # it keeps both cores busy for minutes: alone, it neither starves nor waits on others
@pytest.mark.timeout(3600)  # nine services and their PDF workers start on two cores, maybe shared
def test_replicas_killed_and_restarted_under_load_do_everything_once(databases: dict[str, str], tmp_path: Path) -> None:
    started = time.monotonic()
    keys = ensure_dev_keys(tmp_path / "keys")
    stack = Stack(databases["directive"], databases["report"], tmp_path, keys.public_key_file)
    directive_proxy, report_proxy = RoundRobinProxy(stack.directive_backends), RoundRobinProxy(stack.report_backends)
    tokens = seed_tokens(tmp_path / "keys")
    headers = {
        role: {"Authorization": f"Bearer {tokens[person]}"}
        for role, person in (("drafter", "tran-van-an"), ("signer", "le-xuan-hoa"), ("clerk", "vo-thi-thu"))
    }
    with (
        serve_proxy(directive_proxy, stack.directive_proxy_port) as directive_url,
        serve_proxy(report_proxy, stack.report_proxy_port),
    ):
        try:
            stack.start(stack.env(generate_secret(), generate_secret()))
            stack.wait_ready()
            ready = time.monotonic()
            cpu_ready = stack.cpu_seconds()

            async def run() -> list[str]:
                done: list[str] = []
                queue: asyncio.Queue[int] = asyncio.Queue()
                for index in range(DOCUMENTS):
                    queue.put_nowait(index)

                async def walker(client: httpx.AsyncClient) -> None:
                    while not queue.empty():
                        queue.get_nowait()
                        done.append(await issue_and_dispatch(client, headers, seed_letter()))

                async def chaos() -> None:
                    while len(done) < DOCUMENTS // 3:
                        await asyncio.sleep(0.2)
                    await asyncio.to_thread(stack.kill, "directive-2")
                    await asyncio.to_thread(stack.kill, "relay-1")
                    await asyncio.sleep(2)
                    stack.start_one("directive-2")
                    stack.start_one("relay-1")
                    await asyncio.to_thread(stack.wait_ready, ["directive-2"])

                async with httpx.AsyncClient(base_url=directive_url, timeout=300) as client:
                    await asyncio.gather(chaos(), *(walker(client) for _ in range(CONCURRENCY)))
                return done

            issued_ids = asyncio.run(run())
            walked = time.monotonic()
            assert len(set(issued_ids)) == DOCUMENTS
            # The killed replica was out of the rotation while down, and served again after its restart.
            assert directive_proxy.skipped > 0
            assert all(count > 0 for count in directive_proxy.served.values()), directive_proxy.served

            directive, report = databases["directive"], databases["report"]

            def pending() -> str:
                return repr(
                    {
                        "obligations": _rows(report, "SELECT count(*) FROM obligations"),
                        "directive undelivered": _rows(
                            directive, "SELECT status, count(*) FROM webhook_deliveries GROUP BY status"
                        ),
                        "directive unsequenced": _rows(
                            directive, "SELECT count(*) FROM outbox_events WHERE sequence IS NULL"
                        ),
                    }
                )

            def settled(url: str) -> bool:
                left = _rows(
                    url,
                    "SELECT (SELECT count(*) FROM outbox_events WHERE sequence IS NULL)"
                    " + (SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered')"
                    " + (SELECT count(*) FROM outbox_events) - (SELECT count(*) FROM webhook_deliveries)",
                )
                return left == [(0,)]

            _wait(
                lambda: (
                    _rows(report, "SELECT count(*) FROM obligations") == [(DOCUMENTS * UNITS,)]
                    and settled(directive)
                    and settled(report)
                ),
                "every obligation and every event",
                300,
                pending,
            )
            cpu_done = stack.cpu_seconds()
        finally:
            stack.stop()
    finished = time.monotonic()

    # Every number once, none skipped: 1..N in the one register the seed letter is numbered in.
    numbers = [row[0] for row in _rows(directive, "SELECT number FROM directives WHERE number IS NOT NULL")]
    assert sorted(numbers) == list(range(1, DOCUMENTS + 1))
    assert _rows(directive, "SELECT count(*) FROM directives WHERE status = 'dispatched'") == [(DOCUMENTS,)]
    # Every obligation once.
    assert _rows(report, "SELECT count(*), count(DISTINCT (directive_id, unit_code)) FROM obligations") == [
        (DOCUMENTS * UNITS, DOCUMENTS * UNITS)
    ]
    # Every event once per subscriber, each way: one delivery row per event, delivered (``settled``
    # above), and applied once by the receiver (its received_events are keyed by the event id).
    events = _rows(directive, "SELECT count(*) FROM outbox_events")[0][0]
    assert events >= DOCUMENTS * 2  # at least issued and dispatched per document
    for source in (directive, report):
        assert _rows(source, "SELECT count(*) FROM webhook_subscriptions WHERE active") == [(1,)]
    assert _rows(directive, "SELECT count(*), count(DISTINCT event_id) FROM webhook_deliveries") == [(events, events)]
    assert _rows(report, "SELECT count(*) FROM received_events") == [(events,)]
    back = _rows(report, "SELECT count(*), count(DISTINCT event_id) FROM webhook_deliveries")[0]
    assert back[0] == back[1]
    assert _rows(directive, "SELECT count(*) FROM received_events") == [(back[0],)]
    sys.stderr.write(
        f"\nscale-out: {DOCUMENTS} documents × {UNITS} units; start {ready - started:.0f} s, issue and dispatch"
        f" {walked - ready:.0f} s ({DOCUMENTS / (walked - ready) * 60:.1f} documents/min), settle"
        f" {finished - walked:.0f} s, total {finished - started:.0f} s; events {events} → report-api,"
        f" {back[0]} → directive-api; proxy {directive_proxy.served}, {directive_proxy.skipped} refused\n"
        f"CPU seconds per document from ready to settled (the PDF workers' warm-up included): "
        + ", ".join(f"{k} {(cpu_done[k] - cpu_ready.get(k, 0.0)) / DOCUMENTS:.2f}" for k in sorted(cpu_done))
        + "\n"
    )
