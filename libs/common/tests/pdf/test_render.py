"""Rendering: the Decree 30 layout checked with independent tools (pdfplumber, poppler, Pillow)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader

from common.pdf.fields import FIELD_DATE, FIELD_NUMBER
from common.pdf.model import DocumentView
from common.pdf.render import RenderedPdf, render_pdf, render_pdf_async

SignedLetter = Any  # conftest.SignedLetter (conftest modules are not importable)
MM = 72 / 25.4
PAGE_W, PAGE_H = 210 * MM, 297 * MM
LEFT, RIGHT, TOP, BOTTOM = 30 * MM, PAGE_W - 16 * MM, 20 * MM, PAGE_H - 20 * MM
DESCENT = 0.216  # Liberation Serif descent, em (pdfminer puts a glyph's bottom this far below the baseline)


@dataclass(frozen=True)
class Phrase:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    fontname: str

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def baseline(self) -> float:
        return self.bottom - DESCENT * self.size

    @property
    def bold(self) -> bool:
        return "Bold" in self.fontname

    @property
    def italic(self) -> bool:
        return "Italic" in self.fontname


def find(page: Any, text: str, nth: int = 0) -> Phrase:
    """Locate a phrase (consecutive words on one line) with pdfplumber."""
    words = page.extract_words(extra_attrs=["fontname", "size"])
    wanted = text.split()
    hits = []
    for i in range(len(words) - len(wanted) + 1):
        run = words[i : i + len(wanted)]
        if [w["text"] for w in run] == wanted and len({round(w["top"]) for w in run}) == 1:
            hits.append(run)
    assert len(hits) > nth, f"{text!r} not found on page {page.page_number}"
    run = hits[nth]
    return Phrase(
        text=text,
        x0=run[0]["x0"],
        x1=run[-1]["x1"],
        top=min(w["top"] for w in run),
        bottom=max(w["bottom"] for w in run),
        size=round(run[0]["size"], 1),
        fontname=run[0]["fontname"],
    )


@pytest.fixture(scope="module")
def rendered(seed_view: Callable[..., DocumentView]) -> RenderedPdf:
    return render_pdf(seed_view())


@pytest.fixture(scope="module")
def pages(rendered: RenderedPdf) -> Iterator[list[Any]]:
    with pdfplumber.open(io.BytesIO(rendered.pdf)) as pdf:
        yield list(pdf.pages)


def test_a4_portrait_two_pages(rendered: RenderedPdf, pages: list[Any]) -> None:
    assert rendered.pdf.startswith(b"%PDF-")
    assert rendered.page_count == len(pages) == 2
    for page in pages:
        assert page.width == pytest.approx(PAGE_W, abs=0.5)
        assert page.height == pytest.approx(PAGE_H, abs=0.5)


def test_fonts_are_embedded_liberation_serif_only(rendered: RenderedPdf, tmp_path: Path) -> None:
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(rendered.pdf)
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = out.splitlines()[2:]
    assert len(rows) >= 4
    for row in rows:
        assert "Liberation" in row.split()[0]
        emb, sub, uni = row.split()[-5:-2]
        assert (emb, sub, uni) == ("yes", "yes", "yes"), row


def test_all_text_stays_inside_the_decree_margins(pages: list[Any]) -> None:
    for page in pages:
        body_chars = [c for c in page.chars if c["top"] > TOP - 1]
        assert min(c["x0"] for c in body_chars) >= LEFT - 0.5
        # Advance boxes; WeasyPrint's justification may overshoot a line end by up to ~1.5 pt.
        assert max(c["x1"] for c in body_chars) <= RIGHT + 2
        assert max(c["bottom"] for c in body_chars) <= BOTTOM + 0.5
    # The first header line starts at the top margin (20–25 mm).
    header = find(pages[0], "UBND THÀNH PHỐ CẦN THƠ")
    assert 20 * MM <= header.top <= 25 * MM
    # Justified body lines reach the right margin (15–20 mm) and start at the left one (30–35 mm).
    line = find(pages[0], "truyền, quảng bá hình ảnh")
    assert LEFT - 0.5 <= line.x0 <= 35 * MM
    right_edges = [c["x1"] for c in pages[0].chars if abs(c["top"] - line.top) < 1]
    assert PAGE_W - 20 * MM <= max(right_edges) <= RIGHT + 0.5


def test_ink_stays_inside_the_margins(rendered: RenderedPdf, tmp_path: Path) -> None:
    dpi = 72
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-png", "-", str(tmp_path / "p")], input=rendered.pdf, check=True
    )
    for png in sorted(tmp_path.glob("p-*.png")):
        with Image.open(png) as image:
            gray = image.convert("L")
            width, height = gray.size
            # Columns and rows below the top margin (page numbers live in it).
            box = gray.crop((0, round(TOP), width, height)).point(lambda v: 255 if v < 128 else 0)
            x0, _, x1, y1 = box.getbbox() or (0, 0, 0, 0)
        assert x0 >= LEFT - 1 and x1 <= RIGHT + 1, png.name
        assert y1 + TOP <= BOTTOM + 1, png.name


def test_page_number_centred_in_top_margin_from_page_two(pages: list[Any]) -> None:
    assert not [c for c in pages[0].chars if c["bottom"] < TOP]
    numbers = [c for c in pages[1].chars if c["bottom"] < TOP]
    assert "".join(c["text"] for c in numbers) == "2"
    assert (numbers[0]["x0"] + numbers[0]["x1"]) / 2 == pytest.approx((LEFT + RIGHT) / 2, abs=1)
    assert 13 <= round(numbers[0]["size"]) <= 14
    assert "Bold" not in numbers[0]["fontname"]


def test_header_components_have_their_case_size_weight_and_place(pages: list[Any]) -> None:
    page = pages[0]
    left_centre = LEFT + 0.4 * (RIGHT - LEFT) / 2
    right_centre = LEFT + 0.4 * (RIGHT - LEFT) + 0.6 * (RIGHT - LEFT) / 2

    national = find(page, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    assert national.bold and 12 <= national.size <= 13
    assert national.centre == pytest.approx(right_centre, abs=1)
    motto = find(page, "Độc lập - Tự do - Hạnh phúc")
    assert motto.bold and 13 <= motto.size <= 14
    assert motto.centre == pytest.approx(national.centre, abs=1)
    assert motto.top > national.bottom - 1

    parent = find(page, "UBND THÀNH PHỐ CẦN THƠ")
    assert not parent.bold and 12 <= parent.size <= 13
    assert parent.centre == pytest.approx(left_centre, abs=1)
    issuer = find(page, "VĂN PHÒNG")
    assert issuer.bold and 12 <= issuer.size <= 13
    assert issuer.centre == pytest.approx(parent.centre, abs=1)
    assert national.top == pytest.approx(parent.top, abs=1.5)

    def rule_under(phrase: Phrase) -> dict[str, float]:
        rules = [
            r
            for r in page.rects
            if r["height"] < 1.5 and 0 < r["top"] - phrase.bottom < 6 and r["x0"] < phrase.x1 and r["x1"] > phrase.x0
        ]
        assert len(rules) == 1, rules
        return rules[0]  # type: ignore[no-any-return]

    motto_rule = rule_under(motto)
    assert motto_rule["width"] == pytest.approx(motto.x1 - motto.x0, abs=1)  # as long as the text
    issuer_rule = rule_under(issuer)
    assert (issuer.x1 - issuer.x0) / 3 <= issuer_rule["width"] <= (issuer.x1 - issuer.x0) / 2
    assert (issuer_rule["x0"] + issuer_rule["x1"]) / 2 == pytest.approx(issuer.centre, abs=1)


def test_blank_number_and_date_lines_printed_in_a_preview(pages: list[Any], rendered: RenderedPdf) -> None:
    """Rendered for reading (draft preview, report), the blank lines are page text, no form fields."""
    number, date = find(pages[0], "Số: /VPUB-TTĐH"), find(pages[0], "Cần Thơ, ngày tháng 11 năm 2025")
    assert number.bottom == pytest.approx(date.bottom, abs=0.5)
    assert number.size == 13 and not number.italic and date.size == 14 and date.italic
    assert number.top > find(pages[0], "VĂN PHÒNG").bottom
    assert [w["text"] for w in pages[0].extract_words() if w["text"].startswith("/VPUB")] == ["/VPUB-TTĐH"]
    assert not pages[0].annots and rendered.text_fields == ()
    assert rendered.number_box is None and rendered.number_placeholder is None


def test_reserved_number_and_date_fields_share_a_line(signed_letter: SignedLetter) -> None:
    """Rendered for signing, the lines are left empty and the signer's revision creates their fields."""
    rendered = signed_letter.rendered
    assert rendered.text_fields == (FIELD_NUMBER, FIELD_DATE)
    with pdfplumber.open(io.BytesIO(rendered.pdf)) as pdf:
        assert not pdf.pages[0].annots
        assert "/VPUB-TTĐH" not in (pdf.pages[0].extract_text() or "")
    with pdfplumber.open(io.BytesIO(signed_letter.signed)) as pdf:
        page = pdf.pages[0]
        annots = {a["data"]["T"].decode(): a for a in page.annots}
        number, date = annots[FIELD_NUMBER], annots[FIELD_DATE]
        assert number["bottom"] == pytest.approx(date["bottom"], abs=0.5)
        assert number["x0"] == pytest.approx(LEFT, abs=0.5) and date["x1"] == pytest.approx(RIGHT, abs=0.5)
        assert number["top"] > find(page, "VĂN PHÒNG").bottom
    assert rendered.number_box is not None and rendered.date_box is not None
    assert rendered.number_box.y1 == pytest.approx(PAGE_H - number["bottom"], abs=0.1)
    assert rendered.number_placeholder is not None
    assert rendered.number_placeholder.split() == ["Số:", "/VPUB-TTĐH"]


def test_subject_addressees_and_body(pages: list[Any]) -> None:
    page = pages[0]
    left_centre = LEFT + 0.4 * (RIGHT - LEFT) / 2
    subject = find(page, "V/v tăng cường theo dõi,")
    assert not subject.bold and 12 <= subject.size <= 13
    greeting = find(page, "Kính gửi:")
    vv_lines = [
        w
        for w in page.extract_words(extra_attrs=["size"])
        if w["size"] == pytest.approx(12) and w["top"] < greeting.top and w["x1"] < left_centre * 2 - LEFT
    ]
    assert len({round(w["top"]) for w in vv_lines}) >= 3
    for top in {round(w["top"]) for w in vv_lines}:
        words = [w for w in vv_lines if round(w["top"]) == top]
        centre = (min(w["x0"] for w in words) + max(w["x1"] for w in words)) / 2
        assert centre == pytest.approx(left_centre, abs=1.5)  # centred under the number line

    assert 13 <= greeting.size <= 14 and not greeting.bold
    dashes = [
        find(page, "- Sở, ban ngành thành phố;"),
        find(page, "- Các tổ chức chính trị - xã hội;"),
        find(page, "- Ủy ban nhân dân xã, phường."),
    ]
    assert {round(d.x0, 1) for d in dashes} == {round(dashes[0].x0, 1)}  # dashes aligned
    colon = [c for c in page.chars if c["text"] == ":" and abs(c["top"] - greeting.top) < 1][-1]
    assert dashes[0].x0 == pytest.approx(colon["x0"], abs=1)  # under the colon
    assert dashes[0].top > greeting.bottom - 1

    first = find(page, "Nhằm phát huy")
    assert first.size == pytest.approx(14) and not first.bold
    assert first.x0 == pytest.approx(LEFT + 1.27 / 2.54 * 72, abs=0.5)  # 1.27 cm first-line indent
    heading = find(page, "1. Theo dõi và tương tác")
    assert heading.bold and heading.size == pytest.approx(14)


def test_signature_block_and_recipients(pages: list[Any], rendered: RenderedPdf) -> None:
    page = pages[rendered.signature_box.page]
    right_centre = LEFT + 0.48 * (RIGHT - LEFT) + 0.52 * (RIGHT - LEFT) / 2
    title = find(page, "KT. CHÁNH VĂN PHÒNG")
    deputy = find(page, "PHÓ CHÁNH VĂN PHÒNG")
    name = find(page, "Lê Xuân Hoa")
    for phrase in (title, deputy, name):
        assert phrase.bold and 13 <= phrase.size <= 14
        assert phrase.centre == pytest.approx(right_centre, abs=1)
    box = rendered.signature_box
    assert PAGE_H - box.y2 > deputy.bottom and PAGE_H - box.y1 < name.top  # between title and name
    assert (box.x1 + box.x2) / 2 == pytest.approx(right_centre, abs=1)
    seal = rendered.seal_box
    assert seal.x2 == pytest.approx(box.x1 + box.width / 3, abs=0.5)
    assert seal.width == pytest.approx(34 * MM, abs=0.5)

    heading = find(page, "Nơi nhận:")
    assert heading.bold and heading.italic and heading.size == pytest.approx(12)
    assert heading.x0 == pytest.approx(LEFT, abs=0.5)
    assert heading.baseline == pytest.approx(title.baseline, abs=1)  # level with the title line
    first = find(page, "- Như trên;")
    last = find(page, "- Lưu: VT.AN")
    for entry in (first, last, find(page, "- Công an TP; Bộ CHQS TP;")):
        assert entry.size == pytest.approx(11) and not entry.bold and not entry.italic
        assert entry.x0 == pytest.approx(LEFT, abs=0.5)
    assert heading.bottom < first.top + 1 < last.top


def test_user_text_is_escaped_and_nothing_is_fetched(seed_view: Callable[..., DocumentView], tmp_path: Path) -> None:
    hostile = '<img src="http://127.0.0.1:9/x.png"><b>đậm</b>'
    rendered = render_pdf(seed_view(body=({"kind": "paragraph", "text": hostile},)))
    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(rendered.pdf)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert '<img src="http://127.0.0.1:9/x.png"><b>đậm</b>' in " ".join(text.split())


def test_issued_document_prints_number_and_date(seed_view: Callable[..., DocumentView]) -> None:
    rendered = render_pdf(seed_view(number=7, issued_date=dt.date(2026, 2, 3)))
    assert rendered.number_box is None and rendered.date_box is None and rendered.text_fields == ()
    with pdfplumber.open(io.BytesIO(rendered.pdf)) as pdf:
        page = pdf.pages[0]
        number = find(page, "Số: 07/VPUB-TTĐH")
        date = find(page, "Cần Thơ, ngày 03 tháng 02 năm 2026")
        assert not page.annots
    assert number.size == pytest.approx(13) and not number.italic
    assert date.italic and date.size == pytest.approx(14)
    assert number.baseline == pytest.approx(date.baseline, abs=0.5)


def test_other_types_marks_and_draft(seed_view: Callable[..., DocumentView], tmp_path: Path) -> None:
    view = seed_view(
        doc_type_name="Quyết định",
        subject="Về việc ban hành Quy chế làm việc",
        addressees=("Sở Tài chính",),
        urgency="THƯỢNG KHẨN",
        secrecy="MẬT",
        is_draft=True,
    )
    rendered = render_pdf(view)
    with pdfplumber.open(io.BytesIO(rendered.pdf)) as pdf:
        page = pdf.pages[0]
        doc_type = find(page, "QUYẾT ĐỊNH")
        summary = find(page, "Về việc ban hành Quy chế làm việc")
        urgency = find(page, "THƯỢNG KHẨN")
        secrecy = find(page, "MẬT")
        greeting = find(page, "Kính gửi: Sở Tài chính")
        assert not [w for w in page.extract_words() if w["text"] == "V/v"]
        red_boxes = [r for r in page.rects if r["non_stroking_color"] == pytest.approx((224 / 255, 0.0, 0.0), abs=0.01)]
        for pdf_page in pdf.pages:  # the watermark is on every page
            big = [c["text"] for c in pdf_page.chars if c["size"] > 60]
            assert "".join(big).replace(" ", "") == "DỰTHẢO"
    assert doc_type.bold and summary.bold and 13 <= doc_type.size <= 14
    assert doc_type.centre == pytest.approx((LEFT + RIGHT) / 2, abs=1)
    assert summary.top > doc_type.bottom - 1
    assert urgency.bold and secrecy.bold and urgency.top > secrecy.bottom
    assert urgency.x0 < LEFT + 0.4 * (RIGHT - LEFT)
    assert greeting.top > summary.bottom
    widths = sorted(round(r["width"] / MM) for r in red_boxes)
    assert 40 in widths  # THƯỢNG KHẨN box is 40 × 8 mm
    assert any(round(r["height"] / MM) == 8 for r in red_boxes)
    png = tmp_path / "draft"
    subprocess.run(
        ["pdftoppm", "-r", "30", "-png", "-singlefile", "-f", "1", "-l", "1", "-", str(png)],
        input=rendered.pdf,
        check=True,
    )
    with Image.open(f"{png}.png") as image:
        rgb = image.convert("RGB")
        pinkish = sum(1 for r, g, b in rgb.get_flattened_data() if r > 200 and 150 < g < 245 and g == b and r - g > 15)
    assert pinkish > 200  # the translucent red watermark is visible


def test_qr_blocks_are_vector_graphics(rendered: RenderedPdf, pages: list[Any]) -> None:
    assert not any(page.images for page in pages)
    caption = find(pages[0], "- Mạng xã hội Facebook có tên")
    modules = [r for r in pages[0].rects if r["top"] > caption.bottom and r["bottom"] < caption.bottom + 120]
    assert len(modules) > 100


def _decode_region(pdf: bytes, page: int, top: float, bottom: float, tmp_path: Path) -> list[str]:
    """zbarimg over one horizontal band of a page (PDF points from the top)."""
    dpi = 150
    png = tmp_path / f"band-{page}-{round(top)}"
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-png", "-singlefile", "-f", str(page), "-l", str(page), "-", str(png)],
        input=pdf,
        check=True,
    )
    scale = dpi / 72
    with Image.open(f"{png}.png") as image:
        image.crop((0, round(top * scale), image.width, round(bottom * scale))).save(f"{png}-band.png")
    out = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", f"{png}-band.png"],
        capture_output=True,
        text=True,
    )
    return out.stdout.split()


def test_each_qr_code_follows_its_channel_line(rendered: RenderedPdf, pages: list[Any], tmp_path: Path) -> None:
    """As in the original: the channel line (a ``- `` body list item ending with a colon), then its code."""
    page = pages[0]
    facebook = find(page, "- Mạng xã hội Facebook có tên")
    zalo = find(page, "- Zalo OA có tên là")
    for caption in (facebook, zalo):
        assert caption.size == pytest.approx(14) and not caption.italic and not caption.bold
        assert caption.x0 == pytest.approx(LEFT + 1.27 / 2.54 * 72, abs=0.5)  # a body list item
    lines = (page.extract_text() or "").splitlines()
    assert any(line.endswith("Mã QR truy cập trang thông tin:") for line in lines)
    assert _decode_region(rendered.pdf, 1, facebook.top, zalo.top, tmp_path) == [
        "https://www.facebook.com/congthongtincantho"
    ]
    assert _decode_region(rendered.pdf, 1, zalo.top, BOTTOM, tmp_path) == ["https://zalo.me/3460461954401350861"]
    # The code is centred under its line.
    modules = [r for r in page.rects if r["top"] > zalo.bottom and r["width"] < 5]
    assert (min(r["x0"] for r in modules) + max(r["x1"] for r in modules)) / 2 == pytest.approx(
        (LEFT + RIGHT) / 2, abs=2
    )


@pytest.mark.slow
async def test_async_render_runs_in_a_worker_process(seed_view: Callable[..., DocumentView]) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        rendered = await render_pdf_async(seed_view(), executor=pool, for_signing=True)
    task.cancel()
    assert rendered.page_count == 2 and rendered.pdf.startswith(b"%PDF-")
    assert ticks > 20  # the loop kept running while the worker rendered (spawn + render ≈ 1 s)
    assert PdfFileReader(io.BytesIO(rendered.pdf)).root["/Pages"]["/Count"] == 2
    assert rendered.text_fields == (FIELD_NUMBER, FIELD_DATE)  # for_signing reached the worker


@pytest.mark.slow
def test_default_pdf_workers_run_at_a_lower_cpu_priority() -> None:
    """The shared PDF pool is niced, so the server's event loop wins the CPU while documents render."""
    from common.pdf.render import WORKER_NICENESS, default_executor

    worker_niceness = default_executor().submit(os.nice, 0).result(timeout=120)
    assert worker_niceness == min(os.nice(0) + WORKER_NICENESS, 19)


@pytest.mark.slow
def test_the_pdf_pool_takes_the_configured_number_of_processes() -> None:
    """``PDF_WORKERS``: a pool of another size replaces the running one; the same size keeps it."""
    from common.container import pdf_pool_size
    from common.pdf.render import configure_default_executor, default_executor

    cores = pdf_pool_size()  # PDF_WORKERS unset: sized to this container
    try:
        assert configure_default_executor(1) == 1
        pool = default_executor()
        pids = {future.result(timeout=120) for future in [pool.submit(os.getpid) for _ in range(6)]}
        assert len(pids) == 1 and os.getpid() not in pids
        assert len(pool._processes) == 1  # six jobs submitted at once started one process, not six
        assert configure_default_executor(1) == 1 and default_executor() is pool
        with pytest.raises(ValueError, match="at least one"):
            configure_default_executor(0)
        assert default_executor() is pool  # a refused size leaves the pool alone
    finally:
        assert configure_default_executor(None) == cores
    if cores > 1:
        assert default_executor() is not pool and pool._processes is None  # shut down, replaced
    assert default_executor().submit(abs, -3).result(timeout=120) == 3


_POOL_OWNER = """
import os, sys, time
from common.pdf.render import default_executor
pids = {default_executor().submit(os.getpid).result(timeout=120) for _ in range(8)}
print(" ".join(map(str, sorted(pids))), flush=True)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\\nState:\\tZ" not in status


@pytest.mark.slow
def test_pdf_workers_exit_when_their_owner_is_killed() -> None:
    """After a SIGKILL of the server (OOM killer, supervisor timeout) no orphan worker lingers."""
    owner = subprocess.Popen([sys.executable, "-c", _POOL_OWNER], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        workers = [int(pid) for pid in owner.stdout.readline().split()]
        assert workers and all(_running(pid) for pid in workers)
    finally:
        owner.kill()
        owner.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(pid) for pid in workers)


_WARMING_POOL = """
import functools, os, threading, time
from pathlib import Path
from common.pdf.pool import configure_default_executor, default_executor, shutdown_render_executor, start_workers
configure_default_executor(1, warm_up=functools.partial(time.sleep, 3600))  # a warm-up that never ends
jobs = start_workers()
[worker] = default_executor()._processes
deadline = time.monotonic() + 240
while "pango" not in Path(f"/proc/{worker}/maps").read_text() and time.monotonic() < deadline:
    time.sleep(0.1)  # WeasyPrint loaded: the worker is inside its warm-up
print(worker, flush=True)
stopping = threading.Thread(target=shutdown_render_executor)
stopping.start()
stopping.join(timeout=60)
print("stopped" if not stopping.is_alive() else "still waiting", all(job.done() for job in jobs), flush=True)
if stopping.is_alive():
    os._exit(1)  # an exit now would wait for the warm-up too
"""


@pytest.mark.slow
def test_a_pool_shut_down_during_the_warm_up_stops_its_workers_at_once() -> None:
    """A service stopped right after its start does not wait for its workers' warm-up (here one that
    would last an hour): they are stopped, their jobs are ended, and nothing is reported leaked."""
    owner = subprocess.run([sys.executable, "-c", _WARMING_POOL], capture_output=True, text=True, timeout=300)
    worker, outcome = owner.stdout.splitlines()
    assert owner.returncode == 0 and outcome == "stopped True", owner.stderr
    assert not _running(int(worker))
    assert "leaked" not in owner.stderr and "Traceback" not in owner.stderr, owner.stderr
