"""Scale-out throughput: documents issued (and dispatched) per minute by three directive-api replicas
against one, side by side in the same run.

Each side is a stack of real processes on its own PostgreSQL databases (``scripts/scale_stack.py``,
the one ``tests/test_scale_out.py`` kills replicas in): one side with 1 directive-api replica, 1 relay,
1 report-api replica and 1 timer worker, the other with 3 + 2 + 2 + 2, each service behind a
round-robin proxy, every directive-api replica with one PDF worker. The same number of seed letters
(122 units each) is walked from creation to dispatch, a few at a time, through the proxy; the
throughput is documents per minute from the first request to the last dispatch. Reported as the
ratio three replicas / one (no goal: on a machine of two cores the PDF work already uses both with
one replica, so the ratio says what replicas buy on this machine, not on a cluster).
"""

from __future__ import annotations

import asyncio
import time

import httpx
from benchlib import Row, database, temp_dir
from scale_stack import RoundRobinProxy, Stack, issue_and_dispatch, serve_proxy
from startup import children, wait_quiet

from common.auth import ensure_dev_keys
from common.testing import PostgresServer
from common.webhooks import generate_secret
from directive_api.cli import migrate as migrate_directive
from directive_api.cli import seed as seed_directive
from directive_api.cli.walk import tokens as seed_tokens
from directive_api.seed.loader import seed_letter
from report_api.cli import migrate as migrate_report

NAME = "scale-out: documents issued per minute, 3 directive-api replicas / 1"


def _throughput(server: PostgresServer, replicas: int, documents: int, concurrency: int) -> tuple[float, float]:
    """Documents per minute walked to dispatched through a stack of ``replicas`` directive-api replicas,
    and the CPU seconds its processes (not PostgreSQL) used per document meanwhile."""
    with (
        temp_dir("bench-scale") as folder,
        database(server, "bench_scale_d") as d_url,
        database(server, "bench_scale_r") as r_url,
    ):
        migrate_directive(d_url)  # the start-up job: migrations, then the directory
        asyncio.run(seed_directive(d_url))
        migrate_report(r_url)
        keys = ensure_dev_keys(folder / "keys")
        others = 2 if replicas > 1 else 1
        stack = Stack(
            d_url,
            r_url,
            folder,
            keys.public_key_file,
            directive_replicas=replicas,
            relays=others,
            report_replicas=others,
            timer_workers=others,
        )
        tokens = seed_tokens(folder / "keys")
        headers = {
            role: {"Authorization": f"Bearer {tokens[person]}"}
            for role, person in (("drafter", "tran-van-an"), ("signer", "le-xuan-hoa"), ("clerk", "vo-thi-thu"))
        }
        with (
            serve_proxy(RoundRobinProxy(stack.directive_backends), stack.directive_proxy_port) as url,
            serve_proxy(RoundRobinProxy(stack.report_backends), stack.report_proxy_port),
        ):
            try:
                stack.start(stack.env(generate_secret(), generate_secret()))
                stack.wait_ready()
                # The PDF workers' start-up warm-up is measured apart (startup benchmark): wait until
                # they are idle (the relays and timer workers poll, and are never quite idle).
                web_pids = [p.pid for name, p in stack.processes.items() if name.startswith("directive-")]
                wait_quiet([child for pid in web_pids for child in children(pid)])

                async def walk() -> float:
                    queue: asyncio.Queue[int] = asyncio.Queue()
                    for index in range(documents):
                        queue.put_nowait(index)

                    async def walker(client: httpx.AsyncClient) -> None:
                        while not queue.empty():
                            queue.get_nowait()
                            await issue_and_dispatch(client, headers, seed_letter())

                    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
                        started = time.perf_counter()
                        await asyncio.gather(*(walker(client) for _ in range(concurrency)))
                        return time.perf_counter() - started

                before = stack.cpu_seconds()
                seconds = asyncio.run(walk())
                after = stack.cpu_seconds()
            finally:
                stack.stop()
    cpu = sum(after.values()) - sum(before.values())
    return documents / seconds * 60, cpu / documents


def run(server: PostgresServer, *, documents: int = 200, concurrency: int = 6) -> Row:
    one, one_cpu = _throughput(server, 1, documents, concurrency)
    three, three_cpu = _throughput(server, 3, documents, concurrency)
    return Row(
        NAME,
        f"{documents} documents × 122 units, {concurrency} at a time:"
        f" 1 replica {one:.1f}/min, 3 replicas {three:.1f}/min",
        f"{three / one:.2f}",
        "reported",
        None if one <= 0 else True,
        notes=[
            "each side: its own databases, proxies and processes; every directive-api replica has 1 PDF worker;"
            " the machine's cores bound both sides (see the module's docstring)",
            f"CPU seconds per document (the services' processes, not PostgreSQL): 1 replica {one_cpu:.2f},"
            f" 3 replicas {three_cpu:.2f}",
        ],
    )
