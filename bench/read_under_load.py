"""p99 of ``GET /v1/directives/{id}`` idle vs while 4 documents are approved and issued concurrently.

directive-api (``directive-api serve``: one uvicorn worker, PostgreSQL, its render process pool),
one sequential client (httpx, keep-alive) doing the same number of GETs idle and while a separate
process runs 4 concurrent create → submit → approve (render + sign) → issue (number + seal) loops,
in alternating blocks (idle, loaded, idle, loaded, …) so that both see the same moments of a host
whose speed drifts. Goal: p99(loaded) / p99(idle) ≤ 2.

For comparison (a note, not the goal's row): the same measurement with the issuing loops sent to a
second ``directive-api serve`` on the same database at nice 5, the GETs staying on the first: the
event loop that serves the reads then no longer runs the writes' ~23 ms of request handling per
issued document. A second note: one process again, as in the goal's row, with ``PDF_WORKERS`` one
below the number of cores (docs/operations.md, "PDF workers"). A third note, the host's floor: the
same GETs, idle and while one busy loop per core runs at nice 19 and nothing is issued. Where every
core is busy, a wakeup of the client, the server or PostgreSQL that lands on a busy core can wait
until that core's next scheduler tick (4 ms at HZ=250; seen with ``perf sched``), however low the
busy work's priority: the goal's ratio cannot be much below this one.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Event as EventType
from typing import Any

import httpx
from benchlib import (
    Row,
    Tokens,
    database,
    get_latencies,
    issue_letter,
    percentile,
    quiesce,
    start_directive_api_alone,
    stop_processes,
    temp_dir,
)

from common.testing import PostgresServer

GOAL = 2.0
LOADER_NICENESS = 10
WRITER_NICENESS = 5
"""CPU priority of the second process in the comparison (reads and writes on separate processes)."""
SPARE_WORKERS = max(1, (os.cpu_count() or 1) - 1)
"""PDF worker processes in the third comparison: one core fewer than the machine has."""
ROUNDS = 4
"""Idle and loaded blocks alternate this many times (the p99s are over all blocks of each kind)."""
NAME = "p99 GET /v1/directives/{id} while 4 documents are approved + issued concurrently / idle p99"


def _load(base: str, tokens: Tokens, concurrency: int, go: EventType, stop: EventType, counters: Any) -> None:
    """``concurrency`` issuing loops, each starting a new walk only while ``go`` is set; ``counters``:
    documents issued, failed walks, walks in flight."""
    # The issuing clients stand for users on other machines: on this box they must not take the CPU
    # from the server they load (the server's own PDF workers are niced as well).
    os.nice(LOADER_NICENESS)
    issued, errors, in_flight = counters

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base) as client:
            while not stop.is_set():
                if not go.is_set():
                    await asyncio.sleep(0.005)
                    continue
                with in_flight.get_lock():
                    in_flight.value += 1
                try:
                    await issue_letter(client, tokens)
                    with issued.get_lock():
                        issued.value += 1
                except Exception:
                    with errors.get_lock():
                        errors.value += 1
                    await asyncio.sleep(0.1)
                finally:
                    with in_flight.get_lock():
                        in_flight.value -= 1

    async def main() -> None:
        await asyncio.gather(*(worker() for _ in range(concurrency)))

    asyncio.run(main())


@dataclass(frozen=True)
class Measurement:
    """GET latencies (seconds) idle and while the issuing loops ran, and what the loops did meanwhile."""

    idle: list[float]
    loaded: list[float]
    issued: int
    errors: int
    loaded_seconds: float

    @property
    def p99_idle(self) -> float:
        return percentile(self.idle, 99)

    @property
    def p99_loaded(self) -> float:
        return percentile(self.loaded, 99)

    @property
    def ratio(self) -> float:
        return self.p99_loaded / self.p99_idle

    def summary(self) -> str:
        return (
            f"p99 {self.p99_loaded * 1000:.1f} ms loaded / {self.p99_idle * 1000:.1f} ms idle = {self.ratio:.1f}; "
            f"{self.issued} documents issued during {self.loaded_seconds:.1f} s of loaded reads"
        )


def _wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the issuing loops did not settle")
        time.sleep(0.01)


def _alternate(
    read_base: str, doc_id: str, tokens: Tokens, requests: int, load: Callable[[bool], None], rounds: int
) -> tuple[list[float], list[float], float]:
    """GETs of ``doc_id`` on ``read_base`` in ``rounds`` alternating pairs of blocks, idle then loaded
    (``load(True)`` before a loaded block, ``load(False)`` after it), so that both sets see the same
    moments of a host whose speed drifts over a minute; ``requests`` GETs in all for each set.

    Returns:
        Idle latencies, loaded latencies, seconds spent in the loaded blocks.
    """
    idle: list[float] = []
    loaded: list[float] = []
    elapsed = 0.0
    block = max(1, requests // rounds)
    headers = {"Authorization": tokens.headers["monitor"]}
    with httpx.Client(base_url=read_base) as client:
        path = f"/v1/directives/{doc_id}"
        get_latencies(client, path, headers, 100)  # warm-up
        for _ in range(rounds):
            idle += get_latencies(client, path, headers, block)
            load(True)
            started = time.perf_counter()
            loaded += get_latencies(client, path, headers, block)
            elapsed += time.perf_counter() - started
            load(False)
    return idle, loaded, elapsed


def _first_letter(write_base: str, tokens: Tokens) -> str:
    """Issue one letter (which also warms the render pool and the keys); its id."""

    async def first() -> str:
        async with httpx.AsyncClient(base_url=write_base) as client:
            return str((await issue_letter(client, tokens))["id"])

    return asyncio.run(first())


def _measure(
    read_base: str, write_base: str, tokens: Tokens, requests: int, concurrency: int, rounds: int = ROUNDS
) -> Measurement:
    """GETs on ``read_base``, idle (no issuing walk in flight) and while ``concurrency`` issuing loops
    run on ``write_base``, in alternating blocks (:func:`_alternate`)."""
    context = multiprocessing.get_context("fork")
    go, stop = context.Event(), context.Event()
    counters = (context.Value("i", 0), context.Value("i", 0), context.Value("i", 0))
    loader: multiprocessing.process.BaseProcess | None = None

    def issuing(on: bool) -> None:
        if on:
            go.set()
            time.sleep(1.0)  # the loops are in flight
        else:
            go.clear()
            _wait_for(lambda: counters[2].value == 0, 180)  # the walks in flight have ended
            quiesce(limit=5.0)

    try:
        doc_id = _first_letter(write_base, tokens)
        loader = context.Process(target=_load, args=(write_base, tokens, concurrency, go, stop, counters))
        loader.start()
        quiesce()  # what starting the processes left running has ended
        idle, loaded, elapsed = _alternate(read_base, doc_id, tokens, requests, issuing, rounds)
        stop.set()
        loader.join(timeout=60)
    finally:
        stop.set()
        if loader is not None and loader.is_alive():
            loader.terminate()
            loader.join(timeout=10)
    return Measurement(idle, loaded, counters[0].value, counters[1].value, elapsed)


def _spin() -> None:
    os.nice(19)
    while True:
        pass


def _host_floor(base: str, tokens: Tokens, requests: int, rounds: int = ROUNDS) -> Measurement:
    """The same GETs idle and while one busy loop per core runs at the lowest priority (nice 19) and
    nothing is issued: how much a read slows down on this host only because every core is busy,
    however little the work that keeps it busy weighs (see docs/operations.md, "PDF workers")."""
    context = multiprocessing.get_context("fork")
    spinners: list[multiprocessing.process.BaseProcess] = []

    def stop() -> None:
        for spinner in spinners:
            spinner.kill()
            spinner.join(timeout=10)
        spinners.clear()

    def spinning(on: bool) -> None:
        if on:
            spinners.extend(context.Process(target=_spin, daemon=True) for _ in range(os.cpu_count() or 1))
            for spinner in spinners:
                spinner.start()
            time.sleep(0.3)
        else:
            stop()
            quiesce(limit=5.0)

    try:
        doc_id = _first_letter(base, tokens)
        quiesce()
        idle, loaded, elapsed = _alternate(base, doc_id, tokens, requests, spinning, rounds)
    finally:
        stop()
    return Measurement(idle, loaded, 0, 0, elapsed)


def run(server: PostgresServer, *, requests: int, concurrency: int = 4) -> Row:
    with temp_dir("bench-load-") as var, database(server, "bench_load") as url:
        processes: list[subprocess.Popen[bytes]] = []
        try:
            tokens, base = start_directive_api_alone(var, url, processes)
            goal = _measure(base, base, tokens, requests, concurrency)
            # What the host allows: the same process, every core kept busy by work of the lowest priority.
            floor = _host_floor(base, tokens, requests)
            # For comparison, not the goal: the issuing on a second process, at a lower CPU priority.
            _, writer = start_directive_api_alone(var, url, processes, replica=True, niceness=WRITER_NICENESS)
            split = _measure(base, writer, tokens, requests, concurrency)
            # And one process again, with a PDF pool that leaves a core (PDF_WORKERS = cores - 1).
            _, spare = start_directive_api_alone(
                var, url, processes, replica=True, environment={"DIRECTIVE_API_PDF_WORKERS": str(SPARE_WORKERS)}
            )
            spared = _measure(spare, spare, tokens, requests, concurrency)
        finally:
            stop_processes(processes)
    notes = [
        f"idle p50 {percentile(goal.idle, 50) * 1000:.1f} ms, loaded p50 {percentile(goal.loaded, 50) * 1000:.1f} ms, "
        f"loaded max {max(goal.loaded) * 1000:.0f} ms; {ROUNDS} idle and {ROUNDS} loaded blocks, alternating; "
        f"{goal.issued} documents issued ({goal.errors} failed walks) during the loaded blocks "
        f"({goal.loaded_seconds:.1f} s of reads)",
        f"the host's floor, for comparison: the same GETs while one nice-19 busy loop per core runs and nothing "
        f"is issued, p99 {floor.p99_loaded * 1000:.1f} ms / {floor.p99_idle * 1000:.1f} ms idle = {floor.ratio:.1f} "
        "(a wakeup that lands on a busy core waits for the scheduler's next tick: docs/operations.md, PDF workers)",
        f"not the goal's set-up, for comparison: with the issuing clients on a second directive-api process "
        f"(same database, nice {WRITER_NICENESS}) and the GETs on the first, {split.summary()}",
        f"not the default either: one process as in the goal's row, with PDF_WORKERS={SPARE_WORKERS} (a core kept "
        f"for requests and PostgreSQL), {spared.summary()}",
    ]
    return Row(
        NAME,
        f"p99 {goal.p99_loaded * 1000:.1f} ms loaded / {goal.p99_idle * 1000:.1f} ms idle "
        f"({requests} sequential GETs each)",
        f"{goal.ratio:.1f}",
        f"≤ {GOAL:.0f}",
        goal.ratio <= GOAL,
        notes,
    )
