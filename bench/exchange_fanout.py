"""Exchange fan-out: one package to N organ ids through the VXP hub double, and N status packages back.

directive-api (``serve``, PostgreSQL, its in-process worker running the exchange transport) and
report-api run as real processes, wired like scripts/run_local.py; the hub double
(``python -m common.vxp.hub``) is its own process with two members: the Office (``vxp.vpub``) and one
gateway member serving every synthetic commune's organ id (as a provincial gateway would). For each
size N the ``commune_level`` group is replaced by N synthetic communes with organ ids, and a letter
addressed to that group is issued (not timed). The clock then runs from the dispatch request:

1. the Office's worker builds, seals and sends the package (one ``/sendEdoc``); the hub fans it out
   to N knobsticks; the bench, as the gateway, sees N in its received list;
2. the gateway sends N status packages ``06`` (one per commune, 256 in flight: 3,321 communes send independently);
3. the Office's worker polls, fetches, applies (status order, de-duplication) and acknowledges them,
   until the Office's database counts N deliveries at ``06`` (committed).

Goals: ≤ 10 s end to end at N = 3,321; growth t(large)/t(small) no worse than linear in N.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import httpx
import psycopg
from benchlib import Row, Tokens, free_port, issue_letter, letter, libpq, office_stack, replace_communes
from run_local import OFFICE_ORGAN_ID, wait_ready

from common.edxml import Organization, build_status_package, make_status_package, parse_document_package
from common.testing import PostgresServer
from common.vxp.client import VxpClient

GOAL_SECONDS = 10.0
NAME = "Exchange fan-out: one package to N organ ids through the hub double, N status packages applied"
OFFICE_SECRET = "bench-office-secret"
GATEWAY_SECRET = "bench-gateway-secret"
IN_FLIGHT = 256
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one live process (``/proc/<pid>/stat``), None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _descendants(roots: dict[int, str]) -> dict[int, str]:
    """Every live process under ``roots`` (a service's PDF workers…), labelled as its root."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    labels = dict(roots)
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if pid not in labels and parent in labels:
                labels[pid] = labels[parent]
                changed = True
    return labels


class CpuMeter:
    """CPU seconds per process group over the clock: the hub double, directive-api, report-api, this
    bench (the gateway's sends and the polling) and PostgreSQL's backends of the stack's databases (a
    backend that ends inside the window is missed; the server's shared WAL writer is not counted)."""

    def __init__(self, processes: Sequence[subprocess.Popen[bytes]], databases: str, libpq_url: str) -> None:
        self.roots = {os.getpid(): "bench (gateway)"}
        for process in processes:
            argv = " ".join(process.args if isinstance(process.args, list) else [str(process.args)])
            label = "hub" if "common.vxp.hub" in argv else "directive-api" if "directive-api" in argv else "report-api"
            self.roots[process.pid] = label
        self.databases, self.libpq_url = databases, libpq_url
        self.start: dict[int, tuple[str, float]] = {}

    def _snapshot(self) -> dict[int, tuple[str, float]]:
        labels = _descendants(self.roots)
        with psycopg.connect(self.libpq_url) as connection:
            for (pid,) in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname LIKE %s AND pid <> pg_backend_pid()",
                (self.databases,),
            ):
                labels[int(pid)] = "PostgreSQL"
        out: dict[int, tuple[str, float]] = {}
        for pid, label in labels.items():
            seconds = _cpu_seconds(pid)
            if seconds is not None:
                out[pid] = (label, seconds)
        return out

    def begin(self) -> None:
        self.start = self._snapshot()

    def end(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for pid, (label, seconds) in self._snapshot().items():
            before = self.start.get(pid, (label, 0.0))[1]
            totals[label] = totals.get(label, 0.0) + seconds - before
        return totals


def organ_id(size_index: int, i: int) -> str:
    """A synthetic commune's organ id (QCVN 102 form), unique across sizes and apart from the seed's."""
    return f"{i // 100:03d}.{i % 100:02d}.{80 + size_index:02d}.H13"


def hub_agencies(path: Path, sizes: Sequence[int]) -> None:
    gateway = [organ_id(k, i) for k, size in enumerate(sizes) for i in range(size)]
    path.write_text(
        json.dumps(
            {
                "agencies": [
                    {"system_id": "vxp.vpub", "secret": OFFICE_SECRET, "organ_ids": [OFFICE_ORGAN_ID]},
                    {"system_id": "vxp.gateway", "secret": GATEWAY_SECRET, "organ_ids": gateway},
                ]
            }
        )
    )


Timing = tuple[float, float, float, dict[str, float], float]


async def _one(
    base: str,
    hub: str,
    directive_db: str,
    tokens: Tokens,
    size_index: int,
    count: int,
    wait_s: float,
    meter: CpuMeter,
) -> Timing:
    """Seconds from the dispatch request to N knobsticks at the hub, to N statuses sent, to N
    applied; the CPU seconds each process group spent meanwhile; the load average at the start."""
    async with (
        httpx.AsyncClient(base_url=base) as client,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http,
    ):
        gateway = VxpClient(hub, "vxp.gateway", GATEWAY_SECRET, http)
        doc = await issue_letter(
            client, tokens, letter(addressees=[{"group": "commune_level"}], info_recipients=[{"as_above": True}])
        )
        load = os.getloadavg()[0]
        meter.begin()
        started = time.perf_counter()
        response = await client.post(
            f"/v1/directives/{doc['id']}/dispatch",
            headers={"Authorization": tokens.headers["clerk"], "If-Match": doc["etag"]},
            timeout=wait_s,
        )
        if response.status_code >= 300:
            raise RuntimeError(f"dispatch: {response.status_code} {response.text[:300]}")
        ours = {organ_id(size_index, i) for i in range(count)}
        while True:
            waiting = [k for k in await gateway.received("edoc") if k.recipient in ours]
            if len(waiting) >= count:
                break
            if time.perf_counter() - started > wait_s:
                raise TimeoutError(f"the hub holds {len(waiting)} of {count} knobsticks after {wait_s:.0f} s")
            await asyncio.sleep(0.05)
        fanned_out = time.perf_counter() - started
        package = parse_document_package(await gateway.fetch(waiting[0].doc_id))
        stamp = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        limit = asyncio.Semaphore(IN_FLIGHT)

        async def answer(organ: str) -> None:
            status = make_status_package(
                sender=Organization(organ_id=organ), document=package, status_code="06", timestamp=stamp
            )
            async with limit:
                await gateway.send(build_status_package(status), sender=organ, message_type="status")

        await asyncio.gather(*(answer(organ) for organ in sorted(ours)))
        answered = time.perf_counter() - started
        # Counted in the database, not through GET …/recipients: listing N deliveries ten times a
        # second would load the very process whose worker applies the statuses.
        last = -1
        with psycopg.connect(libpq(directive_db)) as connection:
            while time.perf_counter() - started < wait_s:
                row = connection.execute(
                    "SELECT count(*) FROM deliveries WHERE directive_id = %s AND status = '06'", (doc["id"],)
                ).fetchone()
                last = int(row[0]) if row else 0
                if last >= count:
                    applied = time.perf_counter() - started
                    cpu = meter.end()
                    for knobstick in waiting:  # the gateway's inbox is emptied outside the clock
                        await gateway.acknowledge(knobstick.doc_id, "done")
                    return fanned_out, answered, applied, cpu, load
                await asyncio.sleep(0.1)
        raise TimeoutError(
            f"the Office did not show {count} deliveries at 06 within {wait_s:.0f} s (last: {last} at 06)"
        )


def start_hub(sizes: Sequence[int], var: Path, log: Path, processes: list[subprocess.Popen[bytes]]) -> dict[str, str]:
    """The hub double with the Office and the gateway of every size's communes; directive-api's settings for it."""
    port = free_port()
    hub_agencies(var / "agencies.json", sizes)
    with log.open("ab") as out:
        processes.append(
            subprocess.Popen(
                [
                    *(sys.executable, "-m", "common.vxp.hub", "--port", str(port)),
                    *("--store", str(var / "hub"), "--agencies", str(var / "agencies.json")),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        )
    hub = f"http://127.0.0.1:{port}"
    wait_ready(f"{hub}/healthz")
    return {
        "DIRECTIVE_API_EXCHANGE__VXP__BASE_URL": hub,
        "DIRECTIVE_API_EXCHANGE__VXP__SYSTEM_ID": "vxp.vpub",
        "DIRECTIVE_API_EXCHANGE__VXP__SECRET": OFFICE_SECRET,
    }


def run(server: PostgresServer, *, sizes: Sequence[int], timeout: float) -> Row:
    ordered = sorted(set(sizes))
    small, large = ordered[0], ordered[-1]
    times: dict[int, Timing] = {}
    failures: dict[int, str] = {}
    hub: dict[str, str] = {}
    stack_processes: list[list[subprocess.Popen[bytes]]] = []  # the stack's own list: the services join it

    def before(var: Path, log: Path, processes: list[subprocess.Popen[bytes]]) -> dict[str, str]:
        hub.update(start_hub(ordered, var, log, processes))
        stack_processes.append(processes)
        return hub

    with office_stack(server, "exchange", before=before) as stack:
        hub_url = hub["DIRECTIVE_API_EXCHANGE__VXP__BASE_URL"]
        for index, size in enumerate(ordered):
            replace_communes(stack.directive_db, str(index), size, functools.partial(organ_id, index))
            meter = CpuMeter(
                stack_processes[0],
                "bench_exchange_%",  # office_stack's two databases
                libpq(stack.directive_db),
            )
            try:
                times[size] = asyncio.run(
                    _one(stack.base, hub_url, stack.directive_db, stack.tokens, index, size, timeout, meter)
                )
            except Exception as exc:
                failures[size] = f"N={size}: {type(exc).__name__}: {exc}"
    goal = f"≤ {GOAL_SECONDS:.0f} s at N={large}; growth ≤ N ratio"
    if failures:
        measured = "; ".join(f"N={n}: {t[2]:.2f} s" for n, t in sorted(times.items()))
        return Row(NAME, measured or "never completed", "no result", goal, False, list(failures.values()))
    t_small, t_large = times[small][2], times[large][2]
    growth, linear = t_large / t_small, large / small
    notes = [
        f"N={n} (load average {load:.1f}): {applied:.2f} s end to end — at the hub after {fanned:.2f} s, "
        f"the N statuses sent by {answered:.2f} s, all applied at {applied:.2f} s; CPU seconds meanwhile: "
        + ", ".join(f"{label} {seconds:.1f}" for label, seconds in sorted(cpu.items(), key=lambda kv: -kv[1]))
        for n, (fanned, answered, applied, cpu, load) in sorted(times.items())
    ]
    notes.append(
        f"growth t({large})/t({small}) = {growth:.2f} vs N ratio {linear:.1f}: ratio of ratios {growth / linear:.2f}"
    )
    return Row(
        NAME,
        "; ".join(f"N={n}: {t[2]:.2f} s" for n, t in sorted(times.items())),
        f"{t_large:.2f} s; growth {growth:.2f}× for {linear:.1f}× N",
        goal,
        t_large <= GOAL_SECONDS and growth <= linear,
        notes,
    )


if __name__ == "__main__":
    from common.testing import LOCAL_POSTGRES

    chosen = [int(a) for a in sys.argv[1:]] or [830, 1660, 3321]
    row = run(PostgresServer(os.environ.get("TEST_DATABASE_URL") or LOCAL_POSTGRES), sizes=chosen, timeout=600)
    print(row)
