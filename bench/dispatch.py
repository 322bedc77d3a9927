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
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
from benchlib import Row, Tokens, issue_letter, letter, office_stack, replace_communes

from common.testing import PostgresServer

GOAL_SECONDS = 5.0
NAME = "Dispatch to N communes: POST dispatch → report-api compliance shows N obligations"


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
    with office_stack(server, "dispatch") as stack:
        for size in sorted(set(sizes)):
            replace_communes(stack.directive_db, str(size), size)
            try:
                times[size] = asyncio.run(_one(stack.base, stack.report_base, stack.tokens, size, timeout))
            except Exception as exc:
                failures[size] = f"N={size}: {exc}; {_log_problems(stack.log)}"
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
