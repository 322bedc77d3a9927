"""p99 of ``GET /v1/directives/{id}`` idle vs while 4 documents are approved and issued concurrently.

directive-api (``directive-api serve``: one uvicorn worker, PostgreSQL, its render process pool),
one sequential client (httpx, keep-alive) doing the same number of GETs twice: idle, then while a
separate process runs 4 concurrent create → submit → approve (render + sign) → issue (number +
seal) loops. Goal: p99(loaded) / p99(idle) ≤ 2.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import time
from multiprocessing.synchronize import Event as EventType
from typing import Any

import httpx
from benchlib import (
    Row,
    Tokens,
    database,
    issue_letter,
    percentile,
    start_directive_api_alone,
    stop_processes,
    temp_dir,
)

from common.testing import PostgresServer

GOAL = 2.0
LOADER_NICENESS = 10
NAME = "p99 GET /v1/directives/{id} while 4 documents are approved + issued concurrently / idle p99"


def _load(base: str, tokens: Tokens, concurrency: int, stop: EventType, issued: Any, errors: Any) -> None:
    # The issuing clients stand for users on other machines: on this box they must not take the CPU
    # from the server they load (the server's own PDF workers are niced as well).
    os.nice(LOADER_NICENESS)

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base) as client:
            while not stop.is_set():
                try:
                    await issue_letter(client, tokens)
                    with issued.get_lock():
                        issued.value += 1
                except Exception:
                    with errors.get_lock():
                        errors.value += 1
                    await asyncio.sleep(0.1)

    async def main() -> None:
        await asyncio.gather(*(worker() for _ in range(concurrency)))

    asyncio.run(main())


def _latencies(client: httpx.Client, url: str, headers: dict[str, str], count: int) -> list[float]:
    out: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        out.append(time.perf_counter() - started)
        response.raise_for_status()
    return out


def run(server: PostgresServer, *, requests: int, concurrency: int = 4) -> Row:
    with temp_dir("bench-load-") as var, database(server, "bench_load") as url:
        processes: list[subprocess.Popen[bytes]] = []
        loader: multiprocessing.process.BaseProcess | None = None
        context = multiprocessing.get_context("fork")
        stop = context.Event()
        try:
            tokens, base = start_directive_api_alone(var, url, processes)

            async def first() -> str:
                async with httpx.AsyncClient(base_url=base) as client:
                    return str((await issue_letter(client, tokens))["id"])

            doc_id = asyncio.run(first())  # also warms the render pool and the keys
            headers = {"Authorization": tokens.headers["monitor"]}
            with httpx.Client(base_url=base) as client:
                path = f"/v1/directives/{doc_id}"
                _latencies(client, path, headers, 100)  # warm-up
                idle = _latencies(client, path, headers, requests)
                issued = context.Value("i", 0)
                errors = context.Value("i", 0)
                loader = context.Process(target=_load, args=(base, tokens, concurrency, stop, issued, errors))
                loader.start()
                time.sleep(1.0)  # the four loops are in flight
                started = time.perf_counter()
                loaded = _latencies(client, path, headers, requests)
                elapsed = time.perf_counter() - started
                stop.set()
                loader.join(timeout=180)
        finally:
            stop.set()
            if loader is not None and loader.is_alive():
                loader.terminate()
                loader.join(timeout=10)
            stop_processes(processes)
    p99_idle, p99_loaded = percentile(idle, 99), percentile(loaded, 99)
    ratio = p99_loaded / p99_idle
    notes = [
        f"idle p50 {percentile(idle, 50) * 1000:.1f} ms, loaded p50 {percentile(loaded, 50) * 1000:.1f} ms, "
        f"loaded max {max(loaded) * 1000:.0f} ms; {issued.value} documents issued "
        f"({errors.value} failed walks) in the {elapsed:.1f} s of loaded reads",
    ]
    return Row(
        NAME,
        f"p99 {p99_loaded * 1000:.1f} ms loaded / {p99_idle * 1000:.1f} ms idle ({requests} sequential GETs each)",
        f"{ratio:.1f}",
        f"≤ {GOAL:.0f}",
        ratio <= GOAL,
        notes,
    )
