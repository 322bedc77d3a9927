"""Process footprint and the first approval after a start.

As deployed: the start-up job (``directive-api migrate``, ``report-api migrate``: migrations and
seed) runs first, then directive-api and report-api ``serve --no-migrate`` (one uvicorn worker each,
PostgreSQL, workers out of process). Once both are ready and directive-api's PDF workers have
finished their start-up warm-up (their CPU time stops growing), the resident memory (VmRSS) of each
web process and of each PDF worker process is read from /proc. Then documents are approved one
after another: the first approval after the start against the median of the next ones (warm), side
by side in the same process. Goals: ≤ 120 MB per idle web process; first approve / warm approve ≤ 2.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
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


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of a process so far, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_quiet(pids: list[int], *, quiet: float = 2.0, limit: float = 600.0) -> float:
    """Wait until the processes use no CPU for ``quiet`` seconds (their warm-up is over); the seconds waited."""
    started = time.monotonic()
    last = sum(cpu_ticks(p) for p in pids)
    still_since = time.monotonic()
    while time.monotonic() - started < limit:
        time.sleep(0.5)
        now = sum(cpu_ticks(p) for p in pids)
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            break
    return time.monotonic() - started


def _command(pid: int) -> str:
    """What a child process is: a PDF worker or multiprocessing's resource tracker."""
    text = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return "resource tracker" if "resource_tracker" in text else "PDF worker"


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
            report_port = free_port()
            env = services_env(
                var, directive_port=free_port(), report_port=report_port, directive_db=d_url, report_db=r_url
            )
            for command in ("directive-api", "report-api"):  # the start-up job, as deployed
                subprocess.run([str(Path(sys.executable).parent / command), "migrate"], env=env, check=True)
            started = time.monotonic()
            tokens, base = start_directive_api_alone(var, d_url, processes, replica=True)
            ready_s = time.monotonic() - started
            env["REPORT_API_RUN_WORKERS_IN_PROCESS"] = "false"
            log = var / "report-api.log"
            processes.append(start_service("report-api", report_port, env, log, extra=["--no-migrate"]))
            wait_all([f"http://127.0.0.1:{report_port}/readyz"], processes, log)
            directive_pid, report_pid = processes[0].pid, processes[1].pid
            warm_s = wait_quiet(children(directive_pid)) + time.monotonic() - started - ready_s
            time.sleep(settle)  # idle: start-up work (pool warm-up, first requests) is over
            directive_rss, report_rss = rss_mb(directive_pid), rss_mb(report_pid)
            workers = [(p, rss_mb(p), _command(p)) for p in children(directive_pid)]
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
                "directive-api's child processes (counted apart: the goal is the web process's own): "
                + ", ".join(f"{name} {mb:.0f} MB" for _, mb, name in workers),
            ],
        ),
        Row(
            NAME_FIRST,
            f"first {first * 1000:.0f} ms, warm (median of {WARM_APPROVALS}) {warm * 1000:.0f} ms",
            f"{first / warm:.2f}",
            f"≤ {FIRST_GOAL:.0f}",
            first / warm <= FIRST_GOAL,
            notes=[
                f"directive-api ready {ready_s:.1f} s after its start (readiness does not wait for the PDF"
                f" workers); its PDF workers warm (render, sign, seal, verify) {warm_s:.1f} s after its start"
            ],
        ),
    ]
