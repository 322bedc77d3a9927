"""The annex reference line carries the document's number and date, filled after the signer signs.

"(Kèm theo Quyết định số 07/QĐ-UBND ngày 05 tháng 02 năm 2026 của …)" under an annex's title: the
number and date exist only at issue, so each line of the reference is a text field of the signer's
revision (showing the blank form), filled with the header's number and date in the seal's revision.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from doc_type_fixtures import fixtures
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from pyhanko.pdf_utils.reader import PdfFileReader

from common.pdf.dev_pki import DevPki
from common.pdf.fields import annex_reference_field
from common.pdf.model import Annex, DocumentView, Paragraph
from common.pdf.render import render_pdf
from common.pdf.signing import fill_and_seal, sign_as_signer
from common.pdf.text import format_date_line, format_number
from common.pdf.verify import verify_pdf

MM = 72 / 25.4
TEXT_CENTRE = (30 * MM + (210 - 16) * MM) / 2
ISSUED = dt.date(2026, 2, 5)


def _issue(view: DocumentView, dev_pki: DevPki, number: int) -> tuple[bytes, bytes]:
    """The signer's file and the issued (numbered, dated, sealed) file."""
    signed = sign_as_signer(
        render_pdf(view, for_signing=True), dev_pki.load_signer(), signature_image=dev_pki.signature_png
    )
    sealed = fill_and_seal(
        signed,
        dev_pki.load_seal(),
        seal_image=dev_pki.seal_png,
        number_text=format_number(number, view.notation),
        date_text=format_date_line(view.place, ISSUED),
    )
    return signed, sealed


def _text(pdf: bytes, tmp_path: Path, *options: str) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", *options, str(path), "-"], capture_output=True, text=True, check=True).stdout


def _lines_with_boxes(pdf: bytes, tmp_path: Path, page: int) -> list[tuple[float, float, float, str]]:
    """(x0, x1, bottom, text) of each text line on ``page`` (1-based), from poppler (widgets included)."""
    html = _text(pdf, tmp_path, "-bbox-layout", "-f", str(page), "-l", str(page))
    lines = []
    for line in re.findall(r"<line (.*?)</line>", html, re.S):
        x0, _, x1, bottom = (float(v) for v in re.findall(r'[xy](?:Min|Max)="([\d.]+)"', line)[:4])
        words = re.findall(r">([^<]+)</word>", line)
        lines.append((x0, x1, bottom, " ".join(words)))
    return lines


def _fields(pdf: bytes) -> dict[str, Any]:
    reader = PdfFileReader(io.BytesIO(pdf))
    return {str(ref.get_object()["/T"]): ref.get_object() for ref in reader.root["/AcroForm"]["/Fields"]}


def test_the_issued_annex_reference_shows_the_number_and_date(dev_pki: DevPki, tmp_path: Path) -> None:
    view = fixtures()["QĐ"]
    signed, sealed = _issue(view, dev_pki, 7)
    reference = "(Kèm theo Quyết định số 07/QĐ-UBND ngày 05 tháng 02 năm 2026 của Chủ tịch Ủy ban nhân dân thành phố)"
    issued_text = " ".join(_text(sealed, tmp_path).split())
    assert reference in issued_text
    # What the signer signed shows the blank form there (the number and date did not exist yet).
    signed_text = " ".join(_text(signed, tmp_path).split())
    assert "(Kèm theo Quyết định số /QĐ-UBND ngày tháng năm của Chủ tịch Ủy ban nhân dân thành phố)" in signed_text

    # Both signatures stay valid: filling the reference is form filling, within the signer's lock.
    report = verify_pdf(sealed, [dev_pki.root_certificate()])
    assert not report.altered
    signer, seal = report.signatures
    assert signer.intact and signer.valid and signer.modification == "form_filling" and signer.docmdp_ok
    assert seal.intact and seal.valid and seal.covers_entire_file

    # Each line is a read-only field whose value is the line shown, in the embedded italic face.
    fields = _fields(sealed)
    first, second = (fields[annex_reference_field(1, line)] for line in (1, 2))
    shown = f"{first['/V']} {second['/V']}"
    assert shown == reference
    for field in (first, second):
        assert int(field["/Ff"]) & 1
        assert str(field["/DA"]) == "/LiberationSerifItalic_annex_reference_1 14 Tf 0 g"
    # Every text field's /DA names an embedded Liberation Serif subset of the AcroForm's /DR that has a
    # glyph for each character of its value: a viewer regenerating the appearance draws the same line.
    resources = PdfFileReader(io.BytesIO(sealed)).root["/AcroForm"]["/DR"]["/Font"]
    for name, field in fields.items():
        if field.get("/FT") != "/Tx":
            continue
        font_name, _size, *_ = str(field["/DA"]).split()
        descendant = resources[font_name]["/DescendantFonts"][0]
        assert "LiberationSerif" in str(descendant["/BaseFont"]), name
        program = TTFont(io.BytesIO(descendant["/FontDescriptor"]["/FontFile2"].data))
        covered = set(program.getBestCmap())
        assert not {c for c in str(field["/V"]) if ord(c) not in covered}, (name, font_name)

    # Laid out as the printed reference of a document numbered at rendering: centred lines at the
    # same height.
    annex_page = 2
    issued_lines = [line for line in _lines_with_boxes(sealed, tmp_path, annex_page) if "Kèm theo" in line[3]]
    printed = render_pdf(view.model_copy(update={"number": 7, "issued_date": ISSUED})).pdf
    printed_lines = [line for line in _lines_with_boxes(printed, tmp_path, annex_page) if "Kèm theo" in line[3]]
    assert len(issued_lines) == len(printed_lines) == 1
    (x0, x1, baseline, text), (_, _, printed_baseline, printed_text) = issued_lines[0], printed_lines[0]
    assert text == printed_text
    assert abs(baseline - printed_baseline) < 1.0
    assert abs((x0 + x1) / 2 - TEXT_CENTRE) < 1.5


def test_every_annex_gets_its_reference_and_the_widest_number_fits(dev_pki: DevPki, tmp_path: Path) -> None:
    base = fixtures()["QĐ"]
    second = Annex(
        title="Kinh phí thực hiện", issued_by="Ủy ban nhân dân thành phố Cần Thơ", body=(Paragraph(text="Nội dung."),)
    )
    view = base.model_copy(update={"annexes": (*base.annexes, second), "notation": "QĐ-UBND-VPUB-TTĐH-KSTTHC"})
    _, sealed = _issue(view, dev_pki, 999_999)
    text = " ".join(_text(sealed, tmp_path).split())
    number = "999999/QĐ-UBND-VPUB-TTĐH-KSTTHC"
    assert f"(Kèm theo Quyết định số {number} ngày 05 tháng 02 năm 2026 của Chủ tịch Ủy ban nhân dân thành phố)" in text
    assert f"(Kèm theo Quyết định số {number} ngày 05 tháng 02 năm 2026 của Ủy ban nhân dân thành phố Cần Thơ)" in text
    report = verify_pdf(sealed, [dev_pki.root_certificate()])
    assert not report.altered and report.signatures[0].modification == "form_filling"


def test_a_document_numbered_at_rendering_prints_its_reference(tmp_path: Path) -> None:
    view = fixtures()["QĐ"].model_copy(update={"number": 12, "issued_date": ISSUED})
    rendered = render_pdf(view, for_signing=True)
    assert rendered.annex_references == ()
    text = " ".join(_text(rendered.pdf, tmp_path).split())
    assert "(Kèm theo Quyết định số 12/QĐ-UBND ngày 05 tháng 02 năm 2026 của Chủ tịch" in text


def test_preview_signing_and_final_layouts_reserve_the_same_lines(tmp_path: Path) -> None:
    view = fixtures()["QĐ"]
    numbered = view.model_copy(update={"number": 7, "issued_date": ISSUED})
    tops = []
    for pdf in (render_pdf(view).pdf, render_pdf(view, for_signing=True).pdf, render_pdf(numbered).pdf):
        header = next(line for line in _lines_with_boxes(pdf, tmp_path, 2) if line[3].startswith("STT"))
        tops.append(header[2])
    assert tops[0] == pytest.approx(tops[1], abs=0.01) and tops[0] == pytest.approx(tops[2], abs=0.01)
