"""Benchmarks, measured side by side in one run; prints one table of ratios and figures.

Each benchmark lives in its own module of bench/ (see each docstring):

1. document_read  — GET one document vs a bare FastAPI PK lookup (wrk). Goal: ratio ≥ 0.6.
2. pdf_pipeline   — render + QR + sign + fill + seal vs bare WeasyPrint, for the 2-page seed letter and for a
                    10-page quyết định with a 20-row table and an appendix. Goal: ratio ≤ 1.3 for each.
3. verify         — verify_pdf throughput in the services' PDF worker pool (both cores), nothing cached
                    (pyHanko re-validates everything). Goal: ≥ 100 documents/s.
   verify_http    — POST /v1/verify of issued letters through the service (wrk). Goal: ≥ 100 documents/s.
4. read_under_load — p99 GET while 4 documents are issued / idle p99. Goal: ≤ 2.
5. dispatch       — dispatch to 132 and 3,321 communes until report-api has the obligations. Goal: ≤ 5 s.
6. compliance     — compliance view and a unit's inbox on 1,000,000 obligations. Goals: p50 ≤ 50 / 10 ms.
7. startup        — idle RSS of each web process (goal ≤ 120 MB) and the first approve after a start
                    against warm ones (goal ≤ 2).
8. signing_modes  — approval in the client signing mode (prepare + embed + verify, the token's own signing
                    excluded) vs the server-key approve. Goal: ratio ≤ 1.5. Also the remote mode through the
                    local CSC API v2 service, reported as a ratio.
9. scale_out      — documents issued and dispatched per minute by 3 directive-api replicas (+ 2 relays,
                    2 report-api replicas, 2 timer workers) / 1 replica (+ 1 of each), behind round-robin proxies.
                    Reported as a ratio (no goal on a 2-core machine).
10. exchange_fanout — one edXML package to N organ ids through the VXP hub double and N status packages
                    applied back, at 3 sizes (default 830 1660 3321). Goal: ≤ 10 s at 3,321, growth linear.

The table is printed and written, with the machine description, to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from benchlib import ROOT, Row, failed_row, quiesce

from common.testing import LOCAL_POSTGRES, PostgresServer

ALL = (
    "document_read",
    "pdf_pipeline",
    "verify",
    "verify_http",
    "read_under_load",
    "dispatch",
    "compliance",
    "startup",
    "signing_modes",
    "scale_out",
    "exchange_fanout",
)


def machine(server: PostgresServer) -> list[str]:
    """nproc, CPU model, memory, Python and PostgreSQL versions."""
    cpu = "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    with psycopg.connect(server.admin_url.replace("postgresql+asyncpg", "postgresql"), connect_timeout=5) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    postgres = str(row[0]) if row else "unknown"
    return [
        f"- nproc: {nproc}",
        f"- CPU: {cpu}",
        f"- memory: {memory}",
        f"- Python: {platform.python_version()} ({platform.platform()})",
        f"- PostgreSQL: {postgres}",
    ]


def speed_probe() -> float:
    """Milliseconds of a fixed pure-Python loop on one core, best of 3: the host's speed at this
    moment (a shared machine's speed drifts between runs and within one; lower is faster)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best * 1000


def table(rows: list[Row]) -> str:
    lines = ["| benchmark | measured | ratio or figure | goal | ok/MISSED |", "|---|---|---|---|---|"]
    for row in rows:
        cells = [row.benchmark, row.measured, row.figure, row.goal, row.verdict]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run (~2 minutes): fewer rounds, smaller sizes")
    parser.add_argument("--only", nargs="+", choices=ALL, help="run only these benchmarks")
    parser.add_argument("--seconds", type=int, help="wrk seconds per round (default 5, quick 2)")
    parser.add_argument("--rounds", type=int, help="wrk rounds (default 3, quick 1)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--pdf-rounds", type=int, help="PDF pipeline rounds (default 20, quick 4)")
    parser.add_argument("--verify-seconds", type=float, help="seconds of verification per core (default 10, quick 3)")
    parser.add_argument("--read-requests", type=int, help="GETs idle and loaded (default 2000, quick 300)")
    parser.add_argument(
        "--dispatch-sizes", type=int, nargs="+", help="commune counts (default 132 3321, quick 132 1000)"
    )
    parser.add_argument(
        "--exchange-sizes", type=int, nargs="+", help="organ id counts (default 830 1660 3321, quick 100 200 400)"
    )
    parser.add_argument("--dispatch-timeout", type=float, default=60.0, help="give up after this many seconds")
    parser.add_argument(
        "--directives", type=int, help="synthetic documents of 100 obligations (default 10000 = 1M, quick 1000)"
    )
    parser.add_argument("--compliance-requests", type=int, help="compliance GETs (default 50, quick 15)")
    parser.add_argument(
        "--scale-documents",
        type=int,
        help="documents walked by each side of scale_out (default 200, as issue 21 asks; quick 12)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    q = args.quick

    def pick(value: int | float | None, default: int | float, quick: int | float) -> float:
        return float(value if value is not None else (quick if q else default))

    server = PostgresServer(os.environ.get("TEST_DATABASE_URL") or LOCAL_POSTGRES)
    wanted = args.only or list(ALL)
    rows: list[Row] = []
    durations: dict[str, float] = {}
    speeds: dict[str, float] = {}
    started_all = time.perf_counter()

    def attempt(name: str, goal: str, label: str, body: Callable[[], list[Row]]) -> None:
        if name not in wanted:
            return
        share = quiesce()
        speeds[name] = speed_probe()
        print(
            f"… {name} (CPUs {share:.0%} idle before it, speed probe {speeds[name]:.0f} ms)",
            file=sys.stderr,
            flush=True,
        )
        started = time.perf_counter()
        try:
            rows.extend(body())
        except Exception as exc:
            rows.append(failed_row(label, goal, exc))
        durations[name] = time.perf_counter() - started
        print(f"  {name}: {durations[name]:.0f} s", file=sys.stderr, flush=True)

    import compliance
    import dispatch
    import document_read
    import exchange_fanout
    import pdf_pipeline
    import read_under_load
    import scale_out
    import signing_modes
    import startup
    import verify
    import verify_http

    attempt(
        "document_read",
        "≥ 0.6",
        document_read.NAME,
        lambda: [
            document_read.run(
                server,
                seconds=int(pick(args.seconds, 5, 2)),
                rounds=int(pick(args.rounds, 3, 1)),
                connections=args.connections,
            )
        ],
    )
    attempt(
        "pdf_pipeline",
        "≤ 1.3",
        pdf_pipeline.NAME,
        lambda: [
            pdf_pipeline.run(rounds=int(pick(args.pdf_rounds, 20, 4))),
            pdf_pipeline.run(rounds=int(pick(args.pdf_rounds, 20, 4)) // 4 or 1, document="decision"),
        ],
    )
    attempt("verify", "≥ 100/s", verify.NAME, lambda: [verify.run(seconds=pick(args.verify_seconds, 10, 3))])
    attempt(
        "verify_http",
        "≥ 100/s",
        verify_http.NAME,
        lambda: [verify_http.run(server, seconds=int(pick(args.seconds, 5, 2)) * 2)],
    )
    attempt(
        "read_under_load",
        "≤ 2",
        read_under_load.NAME,
        lambda: [read_under_load.run(server, requests=int(pick(args.read_requests, 2000, 300)))],
    )
    sizes = args.dispatch_sizes or ([132, 1000] if q else [132, 3321])
    attempt(
        "dispatch",
        "≤ 5 s",
        dispatch.NAME,
        lambda: [dispatch.run(server, sizes=sizes, timeout=args.dispatch_timeout)],
    )
    attempt(
        "compliance",
        "p50 ≤ 50 ms / ≤ 10 ms",
        "compliance view and unit inbox at scale",
        lambda: compliance.run(
            server,
            directives=int(pick(args.directives, 10_000, 1_000)),
            requests=int(pick(args.compliance_requests, 50, 15)),
        ),
    )
    attempt("startup", "≤ 120 MB / ≤ 2", startup.NAME_RSS, lambda: startup.run(server))
    attempt(
        "signing_modes",
        "≤ 1.5",
        signing_modes.NAME,
        lambda: signing_modes.run(rounds=int(pick(args.pdf_rounds, 20, 4))),
    )
    attempt(
        "scale_out",
        "reported",
        scale_out.NAME,
        lambda: [scale_out.run(server, documents=int(pick(args.scale_documents, 200, 12)))],
    )
    attempt(
        "exchange_fanout",
        "≤ 10 s",
        exchange_fanout.NAME,
        lambda: [
            exchange_fanout.run(
                server,
                sizes=args.exchange_sizes or ([100, 200, 400] if q else [830, 1660, 3321]),
                timeout=max(args.dispatch_timeout, 300.0),
            )
        ],
    )
    total_s = time.perf_counter() - started_all

    output = table(rows)
    print(output)
    notes = [f"- **{row.benchmark}**: {note}" for row in rows for note in row.notes]
    if notes:
        print("\nNotes:\n" + "\n".join(notes))
    print(f"\nTotal: {total_s:.0f} s (" + ", ".join(f"{k} {v:.0f} s" for k, v in durations.items()) + ")")
    if not args.no_write:
        command = "make bench" if not sys.argv[1:] else ".venv/bin/python bench/run.py " + " ".join(sys.argv[1:])
        document = [
            "# Benchmarks",
            "",
            f"Latest run: {time.strftime('%Y-%m-%d %H:%M %Z')}, `{command}`, {total_s:.0f} s"
            + (" (quick smoke run)" if q else "")
            + ". Each comparison is measured side by side in the same run on the same machine; the goals are"
            " ratios or figures, never absolute timed assertions.",
            "",
            output,
            "",
            "## Notes",
            "",
            *(notes or ["- none"]),
            "",
            "## Machine",
            "",
            *machine(server),
            "- speed probe (a fixed pure-Python loop on one core, best of 3, just before each benchmark; lower is"
            " faster, compare runs with it): " + ", ".join(f"{k} {v:.0f} ms" for k, v in speeds.items()),
            "",
            "Other processes may have been running during the run.",
            "",
            "## How to reproduce",
            "",
            "```sh",
            "make bench                                  # ≈ 10 minutes: every benchmark, writes this file",
            ".venv/bin/python bench/run.py --quick       # ≈ 2 minutes smoke run",
            ".venv/bin/python bench/run.py --only dispatch --dispatch-sizes 132 3321 10000",
            ".venv/bin/python bench/run.py --directives 30000   # 3 M obligations",
            "```",
            "",
            "PostgreSQL: `TEST_DATABASE_URL` or postgresql://postgres:postgres@127.0.0.1:5432/postgres"
            " (`scripts/ensure-postgres`); every database, process and temporary folder is removed at the end."
            " See each module of `bench/` for exactly what is measured.",
            "",
        ]
        args.output.write_text("\n".join(document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
