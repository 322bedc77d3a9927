"""Layout rules a văn thư checks on an issued letter, measured with pdfplumber and zbarimg.

Margins on every line, where long URLs break, how issuer names wrap, where the verification QR
goes on a short letter, and that a draft breaks its pages where the final will.
"""

from __future__ import annotations

import io
import itertools
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pdfplumber
import pytest

from common.pdf.model import DocumentView, Paragraph
from common.pdf.render import name_lines, render_pdf

MM = 72 / 25.4
PAGE_W, PAGE_H = 210 * MM, 297 * MM
LEFT, TOP, BOTTOM = 30 * MM, 20 * MM, PAGE_H - 20 * MM
LONG_URL = (
    "https://dichvucong.cantho.gov.vn/portal/p/home/dvc-tra-cuu-ho-so.html?maHoSo=000.00.31.H13-251105-0001&lang=vi"
)
FILLER = (
    "Các cơ quan, đơn vị, địa phương chủ động rà soát, cập nhật thông tin, bảo đảm kịp thời, chính xác, "
    "đúng quy định; phân công cán bộ theo dõi, tổng hợp và báo cáo kết quả thực hiện về Văn phòng Ủy ban "
    "nhân dân thành phố để tổng hợp, báo cáo Chủ tịch Ủy ban nhân dân thành phố."
)


def _lines(page: Any) -> dict[int, list[dict[str, Any]]]:
    rows: dict[int, list[dict[str, Any]]] = {}
    for char in page.chars:
        if char["top"] > TOP - 1 and char["size"] < 40:  # below the page number, not the watermark
            rows.setdefault(round(char["top"]), []).append(char)
    return rows


def _pages(pdf: bytes) -> list[list[tuple[float, str]]]:
    """Each page's text lines as (top, text), in order."""
    result = []
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            words = page.filter(lambda o: o.get("size", 0) < 40).extract_words()  # not the watermark
            rows: dict[int, list[dict[str, Any]]] = {}
            for word in words:
                if word["top"] > TOP - 1:
                    rows.setdefault(round(word["top"]), []).append(word)
            result.append(
                [
                    (top, " ".join(w["text"] for w in sorted(row, key=lambda w: w["x0"])))
                    for top, row in sorted(rows.items())
                ]
            )
    return result


def test_every_line_keeps_fifteen_millimetres_on_the_right(seed_view: Callable[..., DocumentView]) -> None:
    body = tuple(Paragraph(text=f"{FILLER} Tra cứu tại {LONG_URL} hoặc tại Bộ phận Một cửa.") for _ in range(6))
    for view in (seed_view(), seed_view(body=body)):
        with pdfplumber.open(io.BytesIO(render_pdf(view).pdf)) as pdf:
            for page in pdf.pages:
                for top, chars in _lines(page).items():
                    right = PAGE_W - max(c["x1"] for c in chars)
                    assert right >= 15 * MM, f"page {page.page_number}, line at {top}: {right / MM:.2f} mm"
                    assert min(c["x0"] for c in chars) >= LEFT - 0.5


def test_long_urls_break_only_at_slash_dot_question_mark_or_ampersand(
    seed_view: Callable[..., DocumentView],
) -> None:
    view = seed_view(body=tuple(Paragraph(text=f"{'Địa chỉ tra cứu hồ sơ ' * i}{LONG_URL} ./.") for i in range(8)))
    pages = _pages(render_pdf(view).pdf)
    breaks = 0
    for lines in pages:
        texts = [text for _, text in lines]
        for current, following in itertools.pairwise(texts):
            last, first = current.split()[-1], following.split()[0]
            if not (LONG_URL.startswith(last) or "://" in last) or last == LONG_URL:
                continue
            if LONG_URL.find(last + first) < 0 and not LONG_URL.endswith(last):
                continue
            breaks += 1
            joined = last + first
            assert joined in LONG_URL or LONG_URL.endswith(last)
            assert last.endswith(("/", "?", "&")) or first.startswith("."), (last, first)
            assert len(last) > len("https://")  # never just after the scheme
    assert breaks >= 3  # the URL did need breaking, several times, at different places


def test_short_urls_are_not_split_after_the_scheme(seed_view: Callable[..., DocumentView]) -> None:
    for prefix in range(12):
        text = "Theo dõi trang " + "thông tin " * prefix + "tại địa chỉ: https://www.facebook.com/congthongtincantho."
        pages = _pages(render_pdf(seed_view(body=(Paragraph(text=text),))).pdf)
        for lines in pages:
            for _, line in lines:
                assert not re.search(r"https?://$", line), line
                assert not line.startswith(("www.", "facebook.com")), line


def test_issuer_names_break_between_words_that_belong_together(seed_view: Callable[..., DocumentView]) -> None:
    view = seed_view(parent_body=None, issuer_name="Ủy ban nhân dân thành phố Cần Thơ", notation="UBND-VP")
    with pdfplumber.open(io.BytesIO(render_pdf(view).pdf)) as pdf:
        page = pdf.pages[0]
        words = page.extract_words(extra_attrs=["fontname", "size"])
        left_column = LEFT + 0.4 * 164 * MM
        rows: dict[int, list[dict[str, Any]]] = {}
        for word in words:
            if word["top"] < 40 * MM and word["x1"] < left_column:
                rows.setdefault(round(word["top"]), []).append(word)
        lines = [rows[top] for top in sorted(rows)][:2]
        assert [" ".join(w["text"] for w in line) for line in lines] == ["ỦY BAN NHÂN DÂN", "THÀNH PHỐ CẦN THƠ"]
        assert all("Bold" in w["fontname"] and w["size"] == pytest.approx(13, abs=0.01) for line in lines for w in line)
        centres = [(line[0]["x0"] + line[-1]["x1"]) / 2 for line in lines]
        assert centres[0] == pytest.approx(centres[1], abs=1)
        assert centres[0] == pytest.approx((LEFT + left_column) / 2, abs=1)
        longest = max(line[-1]["x1"] - line[0]["x0"] for line in lines)
        rules = [
            r
            for r in page.rects
            if r["height"] < 1.5
            and lines[1][0]["bottom"] < r["top"] < lines[1][0]["bottom"] + 6
            and r["x1"] < left_column
        ]
        assert len(rules) == 1
        assert longest / 3 <= rules[0]["width"] <= longest / 2  # the issuer's rule: 1/3 to 1/2 of the name


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        ("ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ", ("ỦY BAN NHÂN DÂN", "THÀNH PHỐ CẦN THƠ")),
        ("SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG", ("SỞ NÔNG NGHIỆP", "VÀ MÔI TRƯỜNG")),
        ("VĂN PHÒNG ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ", ("VĂN PHÒNG", "ỦY BAN NHÂN DÂN", "THÀNH PHỐ CẦN THƠ")),
        ("ỦY BAN NHÂN DÂN XÃ PHONG ĐIỀN", ("ỦY BAN NHÂN DÂN", "XÃ PHONG ĐIỀN")),
        ("VĂN PHÒNG", ("VĂN PHÒNG",)),
        ("HỘI ĐỒNG NHÂN DÂN\nTHÀNH PHỐ CẦN THƠ", ("HỘI ĐỒNG NHÂN DÂN", "THÀNH PHỐ CẦN THƠ")),
    ],
)
def test_name_lines(name: str, lines: tuple[str, ...]) -> None:
    assert name_lines(name, "Bold", 13, 0.4 * 164 * MM - 4) == lines


def _qr_payloads(pdf: bytes, page: int, tmp_path: Path) -> list[str]:
    png = tmp_path / f"qr-{page}"
    subprocess.run(
        ["pdftoppm", "-r", "150", "-gray", "-png", "-singlefile", "-f", str(page), "-l", str(page), "-", str(png)],
        input=pdf,
        check=True,
    )
    out = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", f"{png}.png"], capture_output=True, text=True
    )
    return out.stdout.split()


def test_short_urgent_letter_keeps_its_verification_qr_on_its_one_page(
    seed_view: Callable[..., DocumentView], tmp_path: Path
) -> None:
    view = seed_view(
        urgency="HỎA TỐC",
        body=(
            Paragraph(text=FILLER),
            Paragraph(text="Đề nghị các cơ quan, đơn vị khẩn trương triển khai thực hiện./."),
        ),
    )
    rendered = render_pdf(view, for_signing=True)
    assert rendered.page_count == 1
    assert _qr_payloads(rendered.pdf, 1, tmp_path) == [view.verification_url]
    with pdfplumber.open(io.BytesIO(rendered.pdf)) as pdf:
        page = pdf.pages[0]
        title = next(w for w in page.extract_words() if w["text"] == "Nơi")
        modules = [r for r in page.rects if r["width"] < 3 and r["top"] > title["top"] - 20]
        x0, x1 = min(r["x0"] for r in modules), max(r["x1"] for r in modules)
        top, bottom = min(r["top"] for r in modules), max(r["bottom"] for r in modules)
        # Beside Nơi nhận: in the left column, level with the list, clear of every character ...
        assert x0 > LEFT and x1 < LEFT + 0.48 * 164 * MM
        assert title["top"] - 10 < top and bottom < title["top"] + 100
        for char in page.chars:
            overlaps = char["x1"] > x0 and char["x0"] < x1 and char["bottom"] > top and char["top"] < bottom
            assert not overlaps, char["text"]
    # ... and of the seal, which reaches into that column.
    assert x1 < rendered.seal_box.x1


def test_no_page_holds_only_the_verification_block(seed_view: Callable[..., DocumentView]) -> None:
    """Whatever the length of the letter, the verification QR never opens a page alone."""
    seen_pages = set()
    for count in range(3, 11):
        rendered = render_pdf(seed_view(urgency="KHẨN", body=tuple(Paragraph(text=FILLER) for _ in range(count))))
        seen_pages.add(rendered.page_count)
        last = _pages(rendered.pdf)[-1]
        texts = " ".join(text for _, text in last)
        assert "Lê Xuân Hoa" in texts and "Nơi nhận:" in texts, count
        assert "Kiểm tra tính xác thực" in texts
    assert seen_pages == {1, 2}


@pytest.mark.slow
def test_the_draft_breaks_its_pages_where_the_final_will(seed_view: Callable[..., DocumentView]) -> None:
    for count in (0, 3, 9):
        body = seed_view().body + tuple(Paragraph(text=FILLER) for _ in range(count))
        final = render_pdf(seed_view(body=body), for_signing=True)
        draft = render_pdf(seed_view(body=body, is_draft=True, verification_url=None))
        assert draft.page_count == final.page_count
        final_pages, draft_pages = _pages(final.pdf), _pages(draft.pdf)
        for number, (final_lines, draft_lines) in enumerate(zip(final_pages, draft_pages, strict=True), 1):
            kept = [
                (round(top), text)
                for top, text in draft_lines
                if text != "DỰ THẢO" and not text.startswith(("Số:", "Cần Thơ, ngày"))
            ]
            assert kept == [
                (round(top), text)
                for top, text in final_lines
                if not text.startswith(("Kiểm tra tính xác thực", "https://vanban"))
            ], f"page {number} differs ({count} extra paragraphs)"
        assert draft.signature_box == final.signature_box


def test_the_draft_mark_sits_in_the_top_margin(seed_view: Callable[..., DocumentView]) -> None:
    with pdfplumber.open(io.BytesIO(render_pdf(seed_view(is_draft=True)).pdf)) as pdf:
        page = pdf.pages[0]
        mark = [w for w in page.extract_words(extra_attrs=["size"]) if w["text"] in ("DỰ", "THẢO") and w["size"] < 20]
        national = next(w for w in page.extract_words() if w["text"] == "CỘNG")
        assert mark and max(w["bottom"] for w in mark) < TOP < national["top"] + 1
        assert max(w["x1"] for w in mark) <= PAGE_W - 15 * MM


def test_a_table_row_taller_than_a_page_breaks_across_pages_in_reading_order(tmp_path: Path) -> None:
    from doc_type_fixtures import fixtures

    from common.pdf.model import Table

    words = [f"mục{index}" for index in range(1500)]
    table = Table(
        columns=("STT", "Nội dung", "Ghi chú"),
        rows=(("1", "Dòng đầu", "a"), ("2", " ".join(words), "ghi chú dài"), ("3", "Dòng cuối", "z")),
        widths=(1, 6, 2),
    )
    plan = fixtures()["KH"]
    view = plan.model_copy(update={"body": (Paragraph(text="Mở đầu."), table, Paragraph(text="Kết thúc./."))})
    pdf = render_pdf(view).pdf
    pages = _pages(pdf)
    spanned = [index for index, lines in enumerate(pages) if any(re.search(r"mục\d", text) for _, text in lines)]
    assert len(spanned) >= 3
    # The long row starts right under row 1 (no page left almost empty), and every page it runs
    # onto opens with the repeated header row.
    first = [text for _, text in pages[spanned[0]]]
    assert any(text.startswith("2 mục0 mục1") for text in first)
    assert first.index(next(t for t in first if t.startswith("1 Dòng đầu"))) < first.index(
        next(t for t in first if t.startswith("2 mục0"))
    )
    for index in spanned[1:]:
        assert pages[index][0][1] == "STT Nội dung Ghi chú", pages[index][:2]
    # Text extraction (pdfminer through pdfplumber, and poppler) keeps the reading order.
    path = tmp_path / "table.pdf"
    path.write_bytes(pdf)
    poppler = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        pdfminer = "\n".join(page.extract_text() or "" for page in document.pages)
    for text in (poppler, pdfminer):
        found = re.findall(r"mục\d+|Dòng đầu|Dòng cuối|Kết thúc", text)
        assert found == ["Dòng đầu", *words, "Dòng cuối", "Kết thúc"]
