"""Process footprint and the first approval after a start.

directive-api and report-api (``serve``, one uvicorn worker each, PostgreSQL, workers out of process)
are started; once ready and idle for a few seconds, the resident memory (VmRSS) of each web process
and of directive-api's PDF worker processes is read from /proc. Then documents are approved one
after another: the first approval after the start (cold: the PDF workers' first render and
signature) against the median of the next ones (warm), side by side in the same process.
Goals: ≤ 120 MB per idle web process; first approve / warm approve ≤ 2.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from benchlib import (
    Row,
    Tokens,
    database,
    free_port,
    letter,
    services_env,
    start_directive_api_alone,
    start_service,
    stop_processes,
    temp_dir,
    wait_all,
)

from common.testing import PostgresServer

RSS_GOAL_MB = 120.0
FIRST_GOAL = 2.0
WARM_APPROVALS = 5
NAME_RSS = "idle RSS of a web process (directive-api, report-api)"
NAME_FIRST = "first approve after start / warm approve"


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def children(pid: int) -> list[int]:
    """The direct children of a process (the PDF workers of a web process)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(p) for p in text)
    return found


async def _approve_times(base: str, tokens: Tokens, count: int) -> list[float]:
    """Seconds of each approval (render + sign) of ``count`` new documents, one after another."""
    times: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        for _ in range(count):
            created = await client.post(
                "/v1/directives", json=letter(), headers={"Authorization": tokens.headers["drafter"]}
            )
            created.raise_for_status()
            doc: dict[str, Any] = created.json()
            submitted = await client.post(
                f"/v1/directives/{doc['id']}/submit",
                headers={"Authorization": tokens.headers["drafter"], "If-Match": doc["etag"]},
            )
            submitted.raise_for_status()
            doc = submitted.json()
            started = time.perf_counter()
            approved = await client.post(
                f"/v1/directives/{doc['id']}/approve",
                headers={"Authorization": tokens.headers["signer"], "If-Match": doc["etag"]},
            )
            times.append(time.perf_counter() - started)
            approved.raise_for_status()
    return times


def run(server: PostgresServer, *, settle: float = 5.0) -> list[Row]:
    processes: list[Any] = []
    with (
        temp_dir("bench-startup") as var,
        database(server, "bench_start_d") as d_url,
        database(server, "bench_start_r") as r_url,
    ):
        try:
            tokens, base = start_directive_api_alone(var, d_url, processes)
            report_port = free_port()
            env = services_env(
                var, directive_port=free_port(), report_port=report_port, directive_db=d_url, report_db=r_url
            )
            env["REPORT_API_RUN_WORKERS_IN_PROCESS"] = "false"
            log = var / "report-api.log"
            processes.append(start_service("report-api", report_port, env, log))
            wait_all([f"http://127.0.0.1:{report_port}/readyz"], processes, log)
            time.sleep(settle)  # idle: start-up work (pool warm-up, first requests) is over
            directive_pid, report_pid = processes[0].pid, processes[1].pid
            directive_rss, report_rss = rss_mb(directive_pid), rss_mb(report_pid)
            workers = [rss_mb(p) for p in children(directive_pid)]
            times = asyncio.run(_approve_times(base, tokens, 1 + WARM_APPROVALS))
        finally:
            stop_processes(processes)
    first, warm = times[0], statistics.median(times[1:])
    worst = max(directive_rss, report_rss)
    return [
        Row(
            NAME_RSS,
            f"directive-api {directive_rss:.0f} MB, report-api {report_rss:.0f} MB",
            f"{worst:.0f} MB",
            f"≤ {RSS_GOAL_MB:.0f} MB",
            worst <= RSS_GOAL_MB,
            notes=[
                f"directive-api's {len(workers)} PDF worker processes: "
                + ", ".join(f"{w:.0f} MB" for w in workers)
                + " (counted apart: the goal is the web process's own)"
            ],
        ),
        Row(
            NAME_FIRST,
            f"first {first * 1000:.0f} ms, warm (median of {WARM_APPROVALS}) {warm * 1000:.0f} ms",
            f"{first / warm:.2f}",
            f"≤ {FIRST_GOAL:.0f}",
            first / warm <= FIRST_GOAL,
        ),
    ]
