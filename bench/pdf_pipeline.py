"""Issue pipeline of a Decree-30 PDF vs a bare WeasyPrint render of the same HTML (same process, alternating).

Pipeline: ``render_pdf`` (WeasyPrint layout, QR codes, AcroForm number/date fields) → ``sign_as_signer``
(PAdES certification signature with the blue signature image) → ``fill_and_seal`` (number and date
filled, organisation seal). Baseline: ``render_html(view)`` then ``weasyprint.HTML(string=...).write_pdf()``
with the same stylesheet and fonts. Goal: pipeline / bare ≤ 1.3 (mean time per document). Measured in a
fresh spawned process, like directive-api's PDF workers.
"""

from __future__ import annotations

import gc
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import weasyprint
from benchlib import Row, temp_dir
from seedpdf import build_decision_view, build_seed_view, issue, template_dir

from common.pdf.dev_pki import ensure_dev_pki
from common.pdf.render import render_html

GOAL = 1.3
NAME = "Decree-30 PDF: render + QR + sign + fill + seal / bare WeasyPrint write_pdf of the same HTML"
DECISION_NAME = (
    "Decree-30 PDF, 10-page quyết định (24 articles, 20-row table, appendix): issue pipeline / bare WeasyPrint"
)
DOCUMENTS = {"letter": (NAME, build_seed_view), "decision": (DECISION_NAME, build_decision_view)}


def _measure(rounds: int, document: str = "letter") -> tuple[list[float], list[float], int]:
    """``rounds`` pairs after one warm-up pair, the order alternating; returns both times and the pages.

    After the warm-up the long-lived objects are frozen out of the garbage collector, as the PDF
    workers do (``common.pdf.pool._worker_init``); each side pays for the collections its own
    allocations trigger, and alternating the order keeps one side from paying for the other's.
    """
    view = DOCUMENTS[document][1]()
    templates = template_dir()
    font_config = weasyprint.text.fonts.FontConfiguration()
    css = weasyprint.CSS(filename=str(templates / "document.css"), font_config=font_config)

    def bare() -> bytes:
        html = weasyprint.HTML(string=render_html(view, for_signing=True), base_url=str(templates) + "/")
        pdf: bytes = html.write_pdf(stylesheets=[css], font_config=font_config)
        return pdf

    with temp_dir("bench-pki-") as folder:
        pki = ensure_dev_pki(folder / "pki")
        issued = issue(view, pki)  # warm-up: fonts, templates, keys
        bare()
        gc.collect()
        gc.freeze()
        full_s: list[float] = []
        bare_s: list[float] = []

        def timed_full() -> None:
            started = time.perf_counter()
            issue(view, pki)
            full_s.append(time.perf_counter() - started)

        def timed_bare() -> None:
            started = time.perf_counter()
            bare()
            bare_s.append(time.perf_counter() - started)

        for index in range(rounds):
            for step in (timed_full, timed_bare) if index % 2 == 0 else (timed_bare, timed_full):
                step()
    return full_s, bare_s, issued.page_count


def run(*, rounds: int, document: str = "letter") -> Row:
    """Both sides in one fresh spawned process, as directive-api runs the pipeline in its PDF workers
    (the benchmark process itself carries the heap of the other benchmarks)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        full_s, bare_s, pages = pool.submit(_measure, rounds, document).result()
    full_mean, bare_mean = statistics.fmean(full_s), statistics.fmean(bare_s)
    ratio = full_mean / bare_mean
    return Row(
        DOCUMENTS[document][0],
        f"{full_mean * 1000:.0f} / {bare_mean * 1000:.0f} ms per document ({rounds} rounds, {pages} pages)",
        f"{ratio:.2f}",
        f"≤ {GOAL}",
        ratio <= GOAL,
    )
