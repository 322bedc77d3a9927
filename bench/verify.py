"""Verification throughput: ``common.pdf.verify.verify_pdf`` on the issued seed letter, on every core.

The PDF worker pool of the services (``common.pdf.render.default_executor``: one spawned process
per core, set up as in production), each worker verifying the same issued letter (signer's
certification signature + organisation seal, no cache) in a loop for ``seconds``. Goal: ≥ 100
documents/s. When missed, one process is profiled and the hottest places are reported.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time

from benchlib import Row, temp_dir
from seedpdf import build_seed_view, issue

from common.pdf.dev_pki import ensure_dev_pki
from common.pdf.render import configure_default_executor, default_executor, shutdown_render_executor
from common.pdf.verify import verify_pdf

GOAL = 100.0
_START_DELAY = 5.0
"""Seconds for the pool's workers to start (spawn, imports, fonts) before the measured loops begin."""
NAME = "verify_pdf of the issued letter (2 signatures, chain to the dev root), uncached, all cores"


def _loop(pdf: bytes, root_pem: bytes, start_at: float, seconds: float) -> tuple[int, float]:
    report = verify_pdf(pdf, [root_pem])  # warm-up, and a check that the work is real
    if not report.all_trusted_and_unaltered or len(report.signatures) != 2:
        raise RuntimeError(f"unexpected verification report: {report}")
    # Every worker starts at the same moment, once all of them are up (none is measured while
    # another one is still starting).
    time.sleep(max(0.0, start_at - time.time()))
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        verify_pdf(pdf, [root_pem])
        count += 1
    return count, time.perf_counter() - started


def _profile(pdf: bytes, root_pem: bytes, count: int) -> list[str]:
    """The five places with the most cumulative time, with their share of one verification."""
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(count):
        verify_pdf(pdf, [root_pem])
    profiler.disable()
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profiler, stream=io.StringIO())
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = stats.stats  # type: ignore[attr-defined]
    interesting = (
        "pyhanko_certvalidator",
        "pyhanko/sign/diff_analysis",
        "pyhanko/sign/validation",
        "pyhanko/pdf_utils",
        "asn1crypto",
        "cryptography",
    )
    rows: list[tuple[float, str]] = []
    for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in raw.items():
        if any(part in filename for part in interesting) and not function.startswith("<"):
            short = filename.split("site-packages/")[-1]
            rows.append((cumulative, f"{short}:{function}"))
    rows.sort(reverse=True)
    per_doc = elapsed / count * 1000
    lines = [f"profile of {count} verifications in one process: {per_doc:.1f} ms each (with profiler overhead)"]
    seen: set[str] = set()
    for cumulative, name in rows:
        module = name.split(":")[0]
        if module in seen:
            continue
        seen.add(module)
        lines.append(f"{cumulative / elapsed * 100:.0f}% in {name}")
        if len(lines) > 8:
            break
    return lines


def run(*, seconds: float) -> Row:
    with temp_dir("bench-verify-") as folder:
        pki = ensure_dev_pki(folder / "pki")
        pdf = issue(build_seed_view(), pki).pdf
        root_pem = pki.root_cert_pem.read_bytes()
    workers = configure_default_executor(None)  # one process per core, one measured loop per process
    pool = default_executor()
    try:
        start_at = time.time() + _START_DELAY
        futures = [pool.submit(_loop, pdf, root_pem, start_at, seconds) for _ in range(workers)]
        results = [f.result() for f in futures]
    finally:
        shutdown_render_executor()
    rate = sum(count / elapsed for count, elapsed in results)
    total = sum(count for count, _ in results)
    notes: list[str] = []
    ok = rate >= GOAL
    if not ok:
        notes = _profile(pdf, root_pem, 20)
    return Row(
        NAME,
        f"{total} verifications in {seconds:.0f} s by {workers} processes ({len(pdf) // 1024} KiB file)",
        f"{rate:.1f} documents/s",
        f"≥ {GOAL:.0f}/s",
        ok,
        notes,
    )
