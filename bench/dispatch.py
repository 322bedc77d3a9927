"""Dispatch fan-out: ``POST /v1/directives/{id}/dispatch`` until report-api holds one obligation per commune.

directive-api and report-api run as real processes (``serve``, one worker each, PostgreSQL), wired
like scripts/run_local.py: directive-api's in-process relay delivers ``directive.dispatched`` to
report-api's inbox, signed with the webhook secret. For each size N the ``commune_level`` group is
replaced by N synthetic communes; a letter addressed to that group is created, approved and issued;
the clock runs from the dispatch request until report-api's compliance view counts N obligations.
Goals: ≤ 5 s for 3,321 communes; growth t(large)/t(small) no worse than linear in N.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import psycopg
from benchlib import (
    Row,
    Tokens,
    database,
    free_port,
    issue_letter,
    letter,
    office_timezone,
    office_tokens,
    services_env,
    start_service,
    stop_processes,
    temp_dir,
    wait_all,
)
from sqlalchemy.engine import make_url

from common.testing import PostgresServer

GOAL_SECONDS = 5.0
NAME = "Dispatch to N communes: POST dispatch → report-api compliance shows N obligations"


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def replace_communes(directive_db: str, count: int, tag: str) -> None:
    """Deactivate every unit of ``commune_level`` and add ``count`` synthetic active ones."""
    with psycopg.connect(libpq(directive_db)) as connection:
        connection.execute("UPDATE units SET is_active = false WHERE group_code = 'commune_level'")
        with connection.cursor().copy(
            "COPY units (code, name, short_name, kind, group_code, is_active) FROM STDIN"
        ) as copy:
            for i in range(count):
                code = f"X{tag}{i:05d}"
                copy.write_row(
                    (
                        code,
                        f"Ủy ban nhân dân xã thử nghiệm {tag}-{i}",
                        f"UBND xã {tag}-{i}",
                        "commune",
                        "commune_level",
                        True,
                    )
                )


async def _one(base: str, report_base: str, tokens: Tokens, count: int, wait_s: float) -> tuple[float, float]:
    """Seconds from the dispatch request to N obligations, and the dispatch request alone."""
    async with httpx.AsyncClient(base_url=base) as client, httpx.AsyncClient(base_url=report_base) as report:
        doc = await issue_letter(client, tokens, letter(addressees=[{"group": "commune_level"}]))
        started = time.perf_counter()
        response = await client.post(
            f"/v1/directives/{doc['id']}/dispatch",
            headers={"Authorization": tokens.headers["clerk"], "If-Match": doc["etag"]},
            timeout=wait_s,
        )
        request_s = time.perf_counter() - started
        if response.status_code >= 300:
            raise RuntimeError(f"dispatch: {response.status_code} {response.text[:300]}")
        headers = {"Authorization": tokens.headers["monitor"]}
        last = ""
        while time.perf_counter() - started < wait_s:
            answer = await report.get(f"/v1/directives/{doc['id']}/compliance", headers=headers, timeout=wait_s)
            if answer.status_code == 200:
                total = int(answer.json()["total"])
                if total == count:
                    return time.perf_counter() - started, request_s
                last = f"{total} obligations"
            else:
                last = f"{answer.status_code}"
            await asyncio.sleep(0.05)
        raise TimeoutError(f"report-api did not show {count} obligations within {wait_s:.0f} s (last: {last})")


def _log_problems(log: Path) -> str:
    """The service log's warnings and errors (last ones first), shortened."""
    lines = [
        line
        for line in log.read_text(errors="replace").splitlines()
        if '"level": "ERROR"' in line or '"level": "WARNING"' in line or "Error" in line
    ]
    return " ⏎ ".join(line[:400] for line in lines[-4:])[:1600] or "no error in the service log"


def run(server: PostgresServer, *, sizes: Sequence[int], timeout: float) -> Row:
    small, large = min(sizes), max(sizes)
    times: dict[int, tuple[float, float]] = {}
    failures: dict[int, str] = {}
    with (
        temp_dir("bench-dispatch-") as var,
        database(server, "bench_dispatch_d") as directive_db,
        database(server, "bench_dispatch_r") as report_db,
    ):
        processes: list[subprocess.Popen[bytes]] = []
        try:
            tokens, _ = office_tokens(var / "keys")
            d_port, r_port = free_port(), free_port()
            env = services_env(
                var, directive_port=d_port, report_port=r_port, directive_db=directive_db, report_db=report_db
            )
            env["DIRECTIVE_API_TIMEZONE"] = office_timezone(dt.datetime.now(dt.UTC))
            log = var / "services.log"
            processes.append(start_service("directive-api", d_port, env, log))
            processes.append(start_service("report-api", r_port, env, log))
            base, report_base = f"http://127.0.0.1:{d_port}", f"http://127.0.0.1:{r_port}"
            wait_all([f"{base}/readyz", f"{report_base}/readyz"], processes, log)
            for size in sorted(set(sizes)):
                replace_communes(directive_db, size, str(size))
                try:
                    times[size] = asyncio.run(_one(base, report_base, tokens, size, timeout))
                except Exception as exc:
                    failures[size] = f"N={size}: {exc}; {_log_problems(log)}"
        finally:
            stop_processes(processes)
    if failures:
        measured = "; ".join(f"N={n}: {t:.2f} s" for n, (t, _) in sorted(times.items()))
        return Row(
            NAME,
            (measured + "; " if measured else "") + "; ".join(f"N={n}: never completed" for n in failures),
            f"N={large}: no result",
            f"≤ {GOAL_SECONDS:.0f} s at N={large}; growth ≤ N ratio",
            False,
            list(failures.values()),
        )
    t_small, t_large = times[small][0], times[large][0]
    growth = t_large / t_small
    linear = large / small
    notes = [
        f"N={n}: {t:.2f} s end to end, of which the dispatch request {r * 1000:.0f} ms"
        for n, (t, r) in sorted(times.items())
    ]
    notes.append(
        f"growth t({large})/t({small}) = {growth:.2f} vs N ratio {linear:.1f}: ratio of ratios {growth / linear:.2f} "
        "(a fixed part — issuing, the relay's round trip, report-api's compliance polling — weighs on small N)"
    )
    return Row(
        NAME,
        f"N={large}: {t_large:.2f} s; N={small}: {t_small:.2f} s",
        f"{t_large:.2f} s; growth {growth:.2f}× for {linear:.1f}× N",
        f"≤ {GOAL_SECONDS:.0f} s at N={large}; growth ≤ N ratio",
        t_large <= GOAL_SECONDS and growth <= linear,
        notes,
    )
