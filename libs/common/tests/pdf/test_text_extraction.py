"""What text extraction tools return of an issued document's number and date (docs/document-types.md).

The number and date are filled into form fields after the signer's certification (Decree 30 order):
poppler (pdftotext) draws widget appearances and returns them; pdfminer.six reads page content only,
so its ``extract_text`` does not, and a pdfminer user reads the fields' values instead. Both facts
are measured here, so that the documentation stays true.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

from pdfminer.high_level import extract_text
from pdfminer.layout import LAParams
from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import resolve1

SignedLetter = Any  # conftest.SignedLetter (conftest modules are not importable)
NUMBER_LINE = "Số: 01/VPUB-TTĐH"
DATE_LINE = "Cần Thơ, ngày 27 tháng 11 năm 2026"


def _squash(text: str) -> str:
    return "".join(text.split())


def _text_string(raw: bytes) -> str:
    """A PDF text string: UTF-16BE with a byte order mark, else PDFDocEncoding (Latin-1 for these)."""
    return raw[2:].decode("utf-16-be") if raw.startswith(b"\xfe\xff") else raw.decode("latin-1")


def _field_values(pdf: bytes) -> dict[str, str]:
    """The AcroForm text fields' values, read with pdfminer.six (the recipe of docs/document-types.md)."""
    document = PDFDocument(PDFParser(io.BytesIO(pdf)))
    values = {}
    for ref in resolve1(document.catalog["AcroForm"])["Fields"]:
        field = resolve1(ref)
        if resolve1(field.get("FT")).name == "Tx":
            values[_text_string(resolve1(field["T"]))] = _text_string(resolve1(field["V"]))
    return values


def test_poppler_returns_the_number_and_date_of_the_issued_letter(signed_letter: SignedLetter, tmp_path: Path) -> None:
    path = tmp_path / "issued.pdf"
    path.write_bytes(signed_letter.sealed)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    first_line_with_number = next(line for line in text.splitlines() if "Số:" in line)
    assert NUMBER_LINE in first_line_with_number and DATE_LINE in first_line_with_number


def test_pdfminer_reads_page_content_only_and_the_fields_give_number_and_date(signed_letter: SignedLetter) -> None:
    # Measured: pdfminer.six never draws annotations (a widget's appearance included), even with
    # all_texts; the header shows "Số:" and the date line nothing until the fields are read.
    text = _squash(extract_text(io.BytesIO(signed_letter.sealed), laparams=LAParams(all_texts=True)))
    assert _squash(NUMBER_LINE) not in text and _squash(DATE_LINE) not in text
    assert _squash("Độc lập - Tự do - Hạnh phúc") in text  # the page content itself is there
    values = _field_values(signed_letter.sealed)
    assert values["doc_number"] == NUMBER_LINE
    assert values["issue_date"] == DATE_LINE
