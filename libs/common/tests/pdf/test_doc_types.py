"""Every Decree 30 text type rendered from a realistic fixture and measured against docs/document-types.md.

The component table of the document (size, weight, style, position of each component) is read from
the Markdown and checked with pdfplumber on every fixture; the type table must equal the rules the
code applies; the text of every document comes out in reading order, number and date included.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from doc_type_fixtures import fixtures

from common.pdf.model import Article, DocumentView
from common.pdf.render import RenderedPdf, name_lines, render_pdf
from common.pdf.rules import TYPE_RULES, check_document
from common.pdf.text import placeholder_date_line

DOC = Path(__file__).resolve().parents[4] / "docs" / "document-types.md"
MM = 72 / 25.4
PAGE_W = 210 * MM
LEFT, RIGHT = 30 * MM, PAGE_W - 16 * MM
WIDTH = RIGHT - LEFT
HEADER_LEFT_CENTRE = LEFT + 0.40 * WIDTH / 2
HEADER_RIGHT_CENTRE = LEFT + 0.40 * WIDTH + 0.60 * WIDTH / 2
CLOSING_LEFT_CENTRE = LEFT + 0.48 * WIDTH / 2
CLOSING_RIGHT_CENTRE = LEFT + 0.48 * WIDTH + 0.52 * WIDTH / 2
INDENT = LEFT + 1.27 / 2.54 * 72
FIXTURES = fixtures()
LAST = ("signer title", "signer name", "second signer")
ISSUED = dt.date(2025, 11, 27)


def _table(heading: str) -> list[dict[str, str]]:
    """The first Markdown table under ``## heading`` of docs/document-types.md, as dicts."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip() for cell in row.strip("|").split("|")), strict=True)) for row in rows[2:]]


COMPONENTS = _table("Components")
TYPES = _table("Types")


def test_the_types_table_is_what_the_rules_apply() -> None:
    assert {row["code"] for row in TYPES} == set(TYPE_RULES)
    for row in TYPES:
        rules = TYPE_RULES[row["code"]]
        assert (row["title block"] if rules.name is not None else None) == rules.name, row
        assert (row["căn cứ"] == "required") == rules.basis_required, row
        assert (row["enacting word"] if row["enacting word"] != "—" else None) == rules.enactment, row
        assert (row["articles"] == "required") == rules.articles_required, row
        assert (row["Kính gửi"] == "required") == rules.addressee_required, row
        assert row["signing"] == rules.signing, row
        assert (row["regulations"] == "allowed") == rules.regulations_allowed, row


def test_there_is_a_fixture_of_every_type_and_each_follows_its_rules() -> None:
    assert {view.doc_type for view in FIXTURES.values()} == set(TYPE_RULES)
    for case, view in FIXTURES.items():
        assert check_document(view) == [], case


@dataclass(frozen=True)
class Phrase:
    x0: float
    x1: float
    size: float
    fontname: str

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


def _find(pages: list[Any], text: str, *, whole_line: bool = False, last_pages_first: bool = False) -> Phrase | None:
    """The first run of words reading ``text`` on one line; with ``whole_line``, that line's extent."""
    wanted = text.split()
    for page in reversed(pages) if last_pages_first else pages:
        words = page.filter(lambda o: o.get("size", 0) < 40).extract_words(extra_attrs=["fontname", "size"])
        starts = range(len(words) - len(wanted) + 1)
        for i in reversed(starts) if last_pages_first else starts:
            run = words[i : i + len(wanted)]
            if [w["text"] for w in run] == wanted and len({round(w["top"]) for w in run}) == 1:
                if whole_line:
                    top = run[0]["top"]
                    line = [w for w in words if abs(w["top"] - top) < 1]
                    return Phrase(
                        min(w["x0"] for w in line),
                        max(w["x1"] for w in line),
                        round(run[0]["size"], 2),
                        run[0]["fontname"],
                    )
                return Phrase(run[0]["x0"], run[-1]["x1"], round(run[0]["size"], 2), run[0]["fontname"])
    return None


def _head(text: str, words: int = 3) -> str:
    return " ".join(text.split()[:words])


def _first_recipient(entry: str) -> str:
    words = entry.split()
    return f"- {words[0]}{';' if len(words) == 1 else ''}"


def _probe(component: str, view: DocumentView) -> str | None:
    """The text by which a component of ``view`` is found on the page (None: the view has none)."""
    blocks = {block.kind: block for block in reversed(view.body)}  # the first of each kind
    annex_blocks = {block.kind: block for annex in view.annexes for block in reversed(annex.body)}
    signature = view.signature.authority_lines[0]
    probes: dict[str, str | None] = {
        "quốc hiệu": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "tiêu ngữ": "Độc lập - Tự do - Hạnh phúc",
        "issuer": name_lines(view.issuer_name.upper(), "Bold", 13, 0.4 * 164 * MM - 4)[0],
        "number line": "Số:",
        "date line": " ".join(placeholder_date_line(view.place, view.draft_month, view.draft_year).split()),
        "type name": view.doc_type_name,
        "subject": None if view.is_cong_van else _head(view.subject),
        "V/v subject": f"V/v {_head(view.subject, 2)}" if view.is_cong_van else None,
        "authority line": _head(blocks["authority"].text, 6) if "authority" in blocks else None,  # type: ignore[attr-defined]
        "căn cứ": _head(blocks["basis"].items[0]) if "basis" in blocks else None,  # type: ignore[attr-defined]
        "enacting word": f"{blocks['enactment'].text}:" if "enactment" in blocks else None,  # type: ignore[attr-defined]
        "article number": "Điều 1." if "article" in blocks else None,
        "clause": None,
        "paragraph": _head(blocks["paragraph"].text) if "paragraph" in blocks else None,  # type: ignore[attr-defined]
        "table header": None,
        "table cell": None,
        "signer title": signature,
        "signer name": view.signature.signer_name,
        "second signer": view.second_signature.authority_lines[0] if view.second_signature else None,
        "Nơi nhận": "Nơi nhận:" if view.second_signature is None else None,
        "recipient": _first_recipient(view.recipients[0])
        if view.recipients and view.second_signature is None
        else None,
        "annex label": None,
        "annex reference": None,
    }
    article = next((b for b in view.body if isinstance(b, Article) and b.clauses), None)
    if article is not None:
        clause = article.clauses[0]
        probes["clause"] = f"{clause.number}. {_head(clause.text, 2)}"
    table = blocks.get("table") or annex_blocks.get("table")
    if table is not None:
        probes["table header"] = table.columns[0]  # type: ignore[attr-defined]
        probes["table cell"] = table.rows[0][1]  # type: ignore[attr-defined]
    if view.annexes:
        annex = view.annexes[0]
        probes["annex label"] = "Phụ lục" if annex.kind == "appendix" else (annex.type_name or "QUY CHẾ")
        probes["annex reference"] = "(Kèm theo" if annex.kind == "appendix" else "(Ban hành kèm"
    return probes[component]


def _position_ok(component: str, position: str, phrase: Phrase) -> bool:
    closing = component in ("signer title", "signer name", "second signer")
    if position == "centre":
        return abs(phrase.centre - (LEFT + RIGHT) / 2) <= 1.5
    if position == "right column":
        return abs(phrase.centre - (CLOSING_RIGHT_CENTRE if closing else HEADER_RIGHT_CENTRE)) <= 1.5
    if position == "left column":
        if component == "number line":
            return LEFT <= phrase.x0 < HEADER_LEFT_CENTRE
        return abs(phrase.centre - (CLOSING_LEFT_CENTRE if closing else HEADER_LEFT_CENTRE)) <= 1.5
    if position == "indent":
        return abs(phrase.x0 - INDENT) <= 0.6
    if position == "left":
        return abs(phrase.x0 - LEFT) <= 0.6
    if position == "cell":
        return LEFT < phrase.x0 < RIGHT
    raise AssertionError(f"unknown position {position!r} in docs/document-types.md")


@pytest.fixture(scope="module")
def rendered() -> dict[str, RenderedPdf]:
    return {case: render_pdf(view) for case, view in FIXTURES.items()}


@pytest.fixture(scope="module")
def checked() -> set[str]:
    """Components measured on at least one fixture (filled by the parametrised test below)."""
    return set()


@pytest.mark.parametrize("case", list(FIXTURES))
def test_every_component_has_its_size_weight_style_and_place(
    case: str, rendered: dict[str, RenderedPdf], checked: set[str]
) -> None:
    view = FIXTURES[case]
    with pdfplumber.open(io.BytesIO(rendered[case].pdf)) as pdf:
        pages = list(pdf.pages)
        for row in COMPONENTS:
            probe = _probe(row["component"], view)
            if probe is None:
                continue
            phrase = _find(
                pages,
                probe,
                whole_line=row["position"] == "centre" or row["component"] == "V/v subject",
                # The annex, not a mention of it; the signature, not the same words in the body.
                last_pages_first=row["component"].startswith("annex") or row["component"] in LAST,
            )
            assert phrase is not None, f"{case}: {row['component']} {probe!r} not found"
            low, _, high = row["size"].partition("–")
            assert float(low) - 0.05 <= phrase.size <= float(high or low) + 0.05, (case, row, phrase)
            assert ("Bold" in phrase.fontname) == (row["weight"] == "bold"), (case, row, phrase)
            assert ("Italic" in phrase.fontname) == (row["style"] == "italic"), (case, row, phrase)
            assert _position_ok(row["component"], row["position"], phrase), (case, row, phrase)
            checked.add(row["component"])


def test_every_component_of_the_table_was_measured(checked: set[str]) -> None:
    # Runs after the parametrised test above (pytest keeps file order).
    assert checked == {row["component"] for row in COMPONENTS}


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _expected_order(view: DocumentView) -> Iterator[str]:
    if view.doc_type_name:
        yield view.doc_type_name
    yield view.subject
    for block in view.body:
        if block.kind in ("paragraph", "heading", "authority"):
            yield block.text  # type: ignore[union-attr]
        elif block.kind == "basis":
            yield from (item.rstrip(";.") for item in block.items)
        elif block.kind == "enactment":
            yield f"{block.text}:"
        elif block.kind == "article":
            yield f"Điều {block.number}."
            yield from (clause.text for clause in block.clauses)
        elif block.kind == "list":
            yield from block.items
        elif block.kind == "table":
            yield from block.columns
            # A wrapped cell shares its lines with its neighbours: the first word of each, row by row.
            yield from (_head(cell, 1) for row in block.rows for cell in row)
        elif block.kind in ("chapter", "part"):
            yield block.title.upper()
    for annex in view.annexes:
        yield annex.title.upper() if annex.kind == "appendix" else annex.title
    # The closing block is two columns side by side: its order is checked by presence below.


@pytest.mark.parametrize("case", list(FIXTURES))
def test_text_comes_out_in_reading_order_with_number_and_date(case: str, tmp_path: Path) -> None:
    view = FIXTURES[case].model_copy(update={"number": 5, "issued_date": ISSUED})
    pdf = render_pdf(view).pdf
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    # -layout keeps a table's rows as lines (the default mode reads its columns as blocks).
    poppler = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    with pdfplumber.open(io.BytesIO(pdf)) as document:  # pdfminer
        miner = "\n".join(page.filter(lambda o: o.get("size", 0) < 40).extract_text() or "" for page in document.pages)
    number = f"Số: 05/{view.notation}"
    date = f"{view.place}, ngày 27 tháng 11 năm 2025"
    for name, text in (("pdftotext", poppler), ("pdfminer", miner)):
        flat = _squash(text)
        assert _squash(number) in flat and _squash(date) in flat, name
        position = 0
        for phrase in _expected_order(view):
            found = flat.find(_squash(phrase), position)
            assert found >= 0, f"{name}, {case}: missing or out of order: {phrase!r}"
            position = found + len(_squash(phrase))
        for line in (*view.signature.authority_lines, view.signature.signer_name, *view.recipients):
            assert _squash(line) in flat, (name, line)
