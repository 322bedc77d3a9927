"""Relay worker processes: several sharing the work on PostgreSQL, and a relay killed mid-batch."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from outbox_models import WebhookDelivery
from outbox_testkit import Receiver
from sqlalchemy import func, select
from test_outbox import emit_events, subscribe

from common.outbox import DELIVERED, PENDING
from conftest import Database

RUNNER = Path(__file__).resolve().parent / "relay_runner.py"
REPO = Path(__file__).resolve().parents[4]


def start_runner(url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "libs" / "common" / "src")}
    return subprocess.Popen(
        [sys.executable, str(RUNNER), url, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


async def finish(process: subprocess.Popen[str], timeout: float = 40) -> int:
    out, err = await asyncio.to_thread(process.communicate, timeout=timeout)
    assert process.returncode == 0, err
    return int(out.strip().splitlines()[-1].removeprefix("attempts="))


async def test_two_relays_share_the_work_and_post_each_event_once(pg_db: Database, receiver: Receiver) -> None:
    await subscribe(pg_db, receiver)
    ids = []
    for _ in range(3):
        ids += await emit_events(pg_db, 50)
    receiver.state.delay = 0.01
    start_at = str(time.time() + 2.0)  # both processes begin together, after their imports
    relays = [start_runner(pg_db.url, "--until-idle", "--start-at", start_at, "--batch", "10") for _ in range(2)]
    attempts = [await finish(p) for p in relays]
    assert sum(attempts) == 150 and all(a > 0 for a in attempts), attempts
    assert sorted(receiver.state.raw_posts) == sorted(ids)  # every event POSTed exactly once
    assert sorted(receiver.state.applied) == sorted(ids) and set(receiver.state.applied.values()) == {1}
    async with pg_db.maker() as session:
        statuses = (await session.execute(select(WebhookDelivery.status, func.count()).group_by("status"))).all()
    assert dict(statuses) == {DELIVERED: 150}


@pytest.mark.slow
async def test_relay_killed_mid_batch_loses_nothing(db: Database, receiver: Receiver) -> None:
    await subscribe(db, receiver)
    ids = await emit_events(db, 12)
    receiver.state.delay = 0.4  # slow receiver: the kill lands while POSTs are in flight
    relay = start_runner(db.url, "--batch", "4", "--lease", "2", "--timeout", "1.5")
    deadline = time.monotonic() + 30
    while len(receiver.state.raw_posts) < 5:  # into the second batch
        assert time.monotonic() < deadline and relay.poll() is None
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    relay.send_signal(signal.SIGKILL)
    relay.wait(timeout=10)
    assert relay.returncode == -signal.SIGKILL
    async with db.maker() as session:
        rows = (await session.scalars(select(WebhookDelivery))).all()
    delivered = [d for d in rows if d.status == DELIVERED]
    orphaned = [d for d in rows if d.status == PENDING and d.claimed_until is not None]
    assert 0 < len(delivered) < 12 and orphaned, "the kill must land between claim and record"
    restarted = start_runner(db.url, "--until-idle", "--batch", "4", "--lease", "2", "--timeout", "1.5")
    await finish(restarted)
    async with db.maker() as session:
        statuses = (await session.execute(select(WebhookDelivery.status, func.count()).group_by("status"))).all()
    assert dict(statuses) == {DELIVERED: 12}
    assert sorted(receiver.state.applied) == sorted(ids) and set(receiver.state.applied.values()) == {1}
    assert len(receiver.state.raw_posts) >= 12


@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_sigterm_finishes_the_current_batch(db: Database, receiver: Receiver) -> None:
    await subscribe(db, receiver)
    await emit_events(db, 12)
    receiver.state.delay = 0.3
    relay = start_runner(db.url, "--batch", "4", "--lease", "5", "--timeout", "2")
    deadline = time.monotonic() + 30
    while len(receiver.state.raw_posts) < 1:
        assert time.monotonic() < deadline and relay.poll() is None
        await asyncio.sleep(0.01)
    relay.send_signal(signal.SIGTERM)
    await finish(relay)
    async with db.maker() as session:
        rows = (await session.scalars(select(WebhookDelivery))).all()
    assert not [d for d in rows if d.claimed_until is not None], "no claim left behind"
    delivered = sum(d.status == DELIVERED for d in rows)
    assert delivered == len(receiver.state.applied) and 4 <= delivered < 12
