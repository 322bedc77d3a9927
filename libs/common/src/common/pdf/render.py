"""Render a :class:`~common.pdf.model.DocumentView` to PDF (Jinja2 + WeasyPrint).

:func:`render_pdf` is a pure, CPU-bound function (≈0.2–0.4 s). Never call it on an event loop: use
:func:`common.pdf.pool.render_pdf_async` (re-exported here), which runs it in the PDF worker processes
(WeasyPrint is single-threaded Python and its thread-safety is undocumented). Importing this module
loads WeasyPrint: web processes import :mod:`common.pdf.pool` instead.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
from weasyprint import CSS, HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from common.pdf.fields import break_reference
from common.pdf.fonts import FontStyle
from common.pdf.fonts import text_width_pt as _text_width_pt
from common.pdf.model import Annex, DocumentView, Table, nfc, roman
from common.pdf.pool import (
    WORKER_NICENESS,
    configure_default_executor,
    default_executor,
    render_pdf_async,
    shutdown_render_executor,
)
from common.pdf.qr import qr_svg
from common.pdf.results import AnnexReference, FieldBox, ReferencePart, RenderedPdf
from common.pdf.text import format_date_line, format_number, format_number_line, placeholder_date_line

__all__ = [
    "WORKER_NICENESS",
    "RenderedPdf",
    "configure_default_executor",
    "default_executor",
    "render_html",
    "render_page",
    "render_pdf",
    "render_pdf_async",
    "shutdown_render_executor",
    "warm_resources",
]

_PACKAGE_DIR = Path(__file__).resolve().parent
_TEMPLATE_DIR = _PACKAGE_DIR / "templates"
_PX_TO_PT = 0.75
_MM_TO_PT = 72 / 25.4

SIGNATURE_WIDTH_MM = 56.0
"""Width of the signer's signature image box (the image is drawn to fit, aspect kept)."""
SIGNATURE_HEIGHT_MM = 28.0
"""Height of the signer's signature image box."""
SEAL_DIAMETER_MM = 34.0
"""Printed diameter of the seal (its real size); it covers the left third of the signature."""
QR_SIZE_MM = 32.0
VERIFICATION_QR_SIZE_MM = 22.0
_DRAFT_VERIFICATION_URL = "https://"
"""What a draft's reserved, invisible verification block holds (one line, like the final's URL)."""

_URGENCY_CLASSES = {"KHẨN": "mark-khan", "THƯỢNG KHẨN": "mark-thuong-khan", "HỎA TỐC": "mark-hoa-toc"}


class _LocalOnlyFetcher(URLFetcher):  # type: ignore[misc]
    """Serve ``data:`` URLs and files of this package only; refuse everything else."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        if url.startswith("file:"):
            path = Path(url.removeprefix("file://").split("?")[0]).resolve()
            if path.is_relative_to(_PACKAGE_DIR):
                return super().fetch(url, headers)
        raise FatalURLFetchingError(f"refused to fetch {url!r}: only bundled resources are allowed")


_URL = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)]")
# Break opportunities of a URL: after "/", "?" and "&", before "." (the dot then opens the next
# line, so a reader sees that the address goes on). "//" is never split.
_URL_BREAK = re.compile(r"(?<=[/?&])(?=[^/])|(?=\.)")
_URL_PIECE_KEPT_WHOLE_MAX = 40


def _url_markup(url: str) -> str:
    """A URL as unbreakable pieces joined by ``<wbr>``: it breaks only at ``/ . ? &``, and the scheme
    (``https://``) stays with the host name that follows it."""
    scheme_end = url.find("://")
    head_end = scheme_end + 3 if scheme_end >= 0 else 0
    pieces = [piece for piece in _URL_BREAK.split(url[head_end:]) if piece]
    if not pieces:
        pieces = [""]
    pieces[0] = url[:head_end] + pieces[0]
    spans = []
    for index, piece in enumerate(pieces):
        if len(piece) <= _URL_PIECE_KEPT_WHOLE_MAX:
            spans.append(f'<span class="url-part">{markupsafe.escape(piece)}</span>')
        else:
            # A piece wider than a line (a long token) may break anywhere, but never in the scheme.
            head = url[:head_end] if index == 0 else ""
            spans.append(
                f'<span class="url-part">{markupsafe.escape(head)}</span>'
                f'<span class="url-long">{markupsafe.escape(piece[len(head) :])}</span>'
            )
    return "<wbr>".join(spans)


def _break_urls(text: str) -> markupsafe.Markup:
    """Escape ``text`` and mark up each URL in it so that it breaks only where a URL may."""
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        parts.append(str(markupsafe.escape(text[position : match.start()])))
        parts.append(f'<span class="url">{_url_markup(match.group())}</span>')
        position = match.end()
    parts.append(str(markupsafe.escape(text[position:])))
    return markupsafe.Markup("".join(parts))  # noqa: S704 (every part above is escaped)


def _basis(items: tuple[str, ...]) -> list[str]:
    """Legal bases as printed: each ends with ``;``, the last with ``.`` (Phụ lục I)."""
    cleaned = [nfc(item).rstrip(" ;.,") for item in items]
    return [f"{item}{'.' if index == len(cleaned) - 1 else ';'}" for index, item in enumerate(cleaned)]


def _column_widths(table: Table) -> list[float]:
    widths = table.widths or tuple(1.0 for _ in table.columns)
    total = sum(widths)
    return [round(100 * width / total, 3) for width in widths]


_CELL_SIZE_PT = 13.0
_CELL_LINE_PT = _CELL_SIZE_PT * 1.15
_CELL_PADDING_PT = 2 * 3 + 0.5
"""Horizontal room a cell's padding and rule take (``table.data td``: 3 pt each side, 0.5 pt rule)."""
_PAGE_TEXT_HEIGHT_PT = (297 - 20 - 20) * 72 / 25.4
_SPLIT_ROW_PT = _PAGE_TEXT_HEIGHT_PT / 3
"""A row taller than a third of the page may break across pages; a shorter one is kept whole (the
way a văn thư sets a table), and moves to the next page when it does not fit."""
_WRAP_LOSS = 1.15
"""Word wrapping leaves the end of each line partly empty: a cell needs about this many times the
lines its text would fill edge to edge."""


def _split_rows(table: Table) -> list[bool]:
    """For each body row: may it break across pages?

    A row kept whole that is taller than a page cannot be placed: WeasyPrint then pushes it to a page
    of its own and lets it run on without the repeated header row or its closing rule. Such rows (and
    any row taller than a third of a page) are marked breakable; every other row stays whole.
    """
    widths = _column_widths(table)
    usable = [max(share / 100 * _CONTENT_WIDTH_PT - _CELL_PADDING_PT, 1.0) for share in widths]
    result = []
    for row in table.rows:
        tall = False
        for cell, width in zip(row, usable, strict=True):
            # No glyph of the face is wider than 1 em: a cell too short to be tall even so is not shaped.
            if len(cell) * _CELL_SIZE_PT / width * _CELL_LINE_PT < _SPLIT_ROW_PT:
                continue
            lines = math.ceil(_text_width_pt(nfc(cell), "Regular", _CELL_SIZE_PT) * _WRAP_LOSS / width)
            if lines * _CELL_LINE_PT >= _SPLIT_ROW_PT:
                tall = True
                break
        result.append(tall)
    return result


def _file_size(size: int) -> str:
    if size < 1024:
        return f"{size} byte"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB".replace(".", ",")
    return f"{size / 1024 / 1024:.1f} MB".replace(".", ",")


_BLANK = "\u00a0" * 8
"""The room left for a number or a day in an annex's reference line (filled by hand on paper): no-break
spaces, so that a line never ends on a blank (a centred line would lean left)."""
_WIDEST_NUMBER = 999_999
"""The widest number a document can get (``DocumentView.number``): the reserved lines fit it."""


def _reference_parts(view: DocumentView, annex: Annex) -> tuple[ReferencePart, ...]:
    """``(Kèm theo Quyết định số 01/QĐ-VP ngày 27 tháng 11 năm 2026 của …)``, in parts.

    The number and the ``ngày … năm …`` phrase are slots while the document has none (their text is
    the blank form, Phụ lục I); once known, literal text.
    """
    type_name = (view.doc_type_name or "Công văn").capitalize()
    lead = "Ban hành kèm theo" if annex.kind == "regulation" else "Kèm theo"
    issued_by = f" của {annex.issued_by}" if annex.issued_by else ""
    number: ReferencePart = (
        ("text", format_number(view.number, view.notation))
        if view.number is not None
        else ("number", f"{_BLANK}/{view.notation}")
    )
    if view.issued_date is not None:
        date: ReferencePart = ("text", format_date_line(view.place, view.issued_date).rpartition(", ")[2])
    else:
        date = ("date", f"ngày {_BLANK} tháng {_BLANK} năm {_BLANK}")
    return (("text", f"({lead} {type_name} số "), number, ("text", " "), date, ("text", f"{issued_by})"))


@dataclass(frozen=True)
class _Reference:
    """How an annex's reference line is set: ``lines`` printed, or ``count`` lines reserved as fields."""

    parts: tuple[ReferencePart, ...]
    lines: tuple[str, ...]
    count: int
    as_fields: bool


def _annex_reference(view: DocumentView, annex: Annex, *, for_signing: bool) -> _Reference:
    """Break the reference into the lines it takes; a document without number or date reserves the lines
    its widest number and date would take, printed blank in a preview, fields when rendered for
    signing, so that both lay out alike."""
    parts = _reference_parts(view, annex)
    blank = nfc("".join(text for _, text in parts))
    lines = break_reference(blank, _CONTENT_WIDTH_PT)
    slots = any(kind != "text" for kind, _ in parts)
    count = len(lines)
    if slots:
        widest = {"number": format_number(_WIDEST_NUMBER, view.notation), "date": "ngày 28 tháng 12 năm 2026"}
        filled = nfc("".join(widest[kind] if kind != "text" else text for kind, text in parts))
        count = max(count, len(break_reference(filled, _CONTENT_WIDTH_PT)))
    return _Reference(parts=parts, lines=lines, count=count, as_fields=slots and for_signing)


@functools.cache
def _jinja_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters["nfc"] = nfc
    env.filters["urls"] = _break_urls
    env.filters["basis"] = _basis
    env.filters["column_widths"] = _column_widths
    env.filters["split_rows"] = _split_rows
    env.filters["roman"] = roman
    env.filters["file_size"] = _file_size
    return env


@functools.cache
def _weasy_resources() -> tuple[FontConfiguration, CSS]:
    font_config = FontConfiguration()
    css = CSS(
        filename=str(_TEMPLATE_DIR / "document.css"),
        font_config=font_config,
        url_fetcher=_LocalOnlyFetcher(),
    )
    return font_config, css


def warm_resources() -> None:
    """Load the stylesheet, its fonts and the templates now (a PDF worker's start-up)."""
    _weasy_resources()
    _jinja_env()


# Words that open a new phrase of an organisation's name: an administrative unit ("THÀNH PHỐ CẦN
# THƠ"), or the second half of a compound name ("SỞ NÔNG NGHIỆP / VÀ MÔI TRƯỜNG"). A name is broken
# only between phrases, so that "ỦY BAN NHÂN DÂN / THÀNH PHỐ HÀ NỘI" never becomes "ỦY BAN NHÂN DÂN
# THÀNH / PHỐ HÀ NỘI".
_PHRASE_OPENERS = (
    ("THÀNH", "PHỐ"),
    ("THỊ", "XÃ"),
    ("THỊ", "TRẤN"),
    ("ĐẶC", "KHU"),
    ("TỈNH",),
    ("HUYỆN",),
    ("QUẬN",),
    ("XÃ",),
    ("PHƯỜNG",),
    ("ỦY", "BAN"),
    ("HỘI", "ĐỒNG"),
    ("VÀ",),
)
_HEADER_LEFT_SHARE = 0.40
"""Share of the text width taken by the header's left column (CSS ``table.header col.left``)."""
_CONTENT_WIDTH_PT = (210 - 30 - 16) * _MM_TO_PT
"""Text width of the page: A4 less the left (30 mm) and right (16 mm) margins of the stylesheet."""


def _phrases(name: str) -> list[str]:
    words = name.split()
    phrases: list[list[str]] = []
    index = 0
    while index < len(words):
        opener = next(
            (o for o in _PHRASE_OPENERS if tuple(w.upper() for w in words[index : index + len(o)]) == o), None
        )
        if opener is not None and phrases and index + len(opener) < len(words):
            phrases.append(list(words[index : index + len(opener)]))
            index += len(opener)
            continue
        if not phrases or (opener is not None and not phrases[-1]):
            phrases.append([])
        phrases[-1].append(words[index])
        index += 1
    return [" ".join(p) for p in phrases if p]


def name_lines(name: str, style: FontStyle, size_pt: float, width_pt: float) -> tuple[str, ...]:
    """Break an organisation's name into lines of at most ``width_pt``, between phrases only.

    A line break typed in the name (``\\n``) is kept. A phrase wider than the line is broken
    between its words.

    Args:
        name: The name, e.g. ``"ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI"``.
        style: The face it is set in.
        size_pt: Its size.
        width_pt: The width available.

    Returns:
        The lines, e.g. ``("ỦY BAN NHÂN DÂN", "THÀNH PHỐ HÀ NỘI")``.
    """
    lines: list[str] = []
    for typed_line in name.splitlines():
        current = ""
        for phrase in _phrases(typed_line):
            candidate = f"{current} {phrase}".strip()
            if _text_width_pt(candidate, style, size_pt) <= width_pt:
                current = candidate
                continue
            if current:
                lines.append(current)
            current = ""
            for word in phrase.split():
                candidate = f"{current} {word}".strip()
                if current and _text_width_pt(candidate, style, size_pt) > width_pt:
                    lines.append(current)
                    candidate = word
                current = candidate
        if current:
            lines.append(current)
    return tuple(lines)


def _blank_number_line(view: DocumentView) -> str:
    return format_number_line(None, view.notation)


def _blank_date_line(view: DocumentView) -> str:
    return placeholder_date_line(view.place, view.draft_month, view.draft_year)


def render_html(view: DocumentView, *, for_signing: bool = False) -> str:
    """Render the HTML of a document (what :func:`render_pdf` lays out).

    Args:
        view: The document.
        for_signing: Leave a missing number or date line empty (its form field is added at signing)
            instead of printing the blank line.

    Returns:
        The HTML source.
    """
    number_text: str | None
    date_text: str | None
    if view.number is not None:
        number_text = format_number_line(format_number(view.number, view.notation), view.notation)
    else:
        number_text = None if for_signing else _blank_number_line(view)
    if view.issued_date is not None:
        date_text = format_date_line(view.place, view.issued_date)
    else:
        date_text = None if for_signing else _blank_date_line(view)
    # A draft reserves the verification block, invisible, so that it lays out like the final.
    verification_text = view.verification_url or (_DRAFT_VERIFICATION_URL if view.is_draft else None)
    verification_qr = (
        qr_svg(verification_text, size_mm=VERIFICATION_QR_SIZE_MM, title="Xác thực văn bản")
        if verification_text
        else None
    )
    header_left_pt = _HEADER_LEFT_SHARE * _CONTENT_WIDTH_PT - 4  # less a little air on each side
    title = f"V/v {view.subject}" if view.is_cong_van else f"{view.doc_type_name} {view.subject}"
    return (
        _jinja_env()
        .get_template("document.html.j2")
        .render(
            view=view,
            title=title,
            number_text=number_text,
            date_text=date_text,
            qr=lambda url, label: qr_svg(url, size_mm=QR_SIZE_MM, title=label),
            annex_references=[_annex_reference(view, annex, for_signing=for_signing) for annex in view.annexes],
            leading_authority=list(itertools.takewhile(lambda block: block.kind == "authority", view.body)),
            appendix_count=sum(1 for annex in view.annexes if annex.kind == "appendix"),
            verification_qr=verification_qr,
            verification_text=verification_text or "",
            urgency_class=_URGENCY_CLASSES.get(view.urgency or "", ""),
            addressee_indent_pt=round(_text_width_pt("Kính gửi", "Regular", 14), 2),
            parent_lines=name_lines(nfc(view.parent_body).upper(), "Regular", 13, header_left_pt)
            if view.parent_body
            else (),
            issuer_lines=name_lines(nfc(view.issuer_name).upper(), "Bold", 13, header_left_pt),
        )
    )


def _anchor_box(document: Any, anchor: str) -> FieldBox:
    for index, page in enumerate(document.pages):
        if anchor in page.anchors:
            x1, y1, x2, y2 = page.anchors[anchor]
            page_height_pt = page.height * _PX_TO_PT
            return FieldBox(
                page=index,
                x1=x1 * _PX_TO_PT,
                y1=page_height_pt - y2 * _PX_TO_PT,
                x2=x2 * _PX_TO_PT,
                y2=page_height_pt - y1 * _PX_TO_PT,
            )
    raise RuntimeError(f"the template has no element with id {anchor!r}")  # pragma: no cover


def _signature_boxes(sig_area: FieldBox) -> tuple[FieldBox, FieldBox]:
    width = SIGNATURE_WIDTH_MM * _MM_TO_PT
    height = min(SIGNATURE_HEIGHT_MM * _MM_TO_PT, sig_area.height)
    centre_x = (sig_area.x1 + sig_area.x2) / 2
    centre_y = (sig_area.y1 + sig_area.y2) / 2
    signature = FieldBox(
        page=sig_area.page,
        x1=centre_x - width / 2,
        y1=centre_y - height / 2,
        x2=centre_x + width / 2,
        y2=centre_y + height / 2,
    )
    diameter = SEAL_DIAMETER_MM * _MM_TO_PT
    seal_right = signature.x1 + width / 3
    seal = FieldBox(
        page=sig_area.page,
        x1=seal_right - diameter,
        y1=centre_y - diameter / 2,
        x2=seal_right,
        y2=centre_y + diameter / 2,
    )
    return signature, seal


def _embedded(view: DocumentView, files: Mapping[str, bytes]) -> list[Attachment]:
    """The listed attachments as PDF embedded files, each checked against the hash the list prints."""
    embedded = []
    for item in view.attachments:
        data = files.get(item.sha256)
        if data is None or hashlib.sha256(data).hexdigest() != item.sha256 or len(data) != item.size:
            raise ValueError(f"the file of attachment {item.name!r} is missing or differs from its listed hash")
        embedded.append(Attachment(string=data, name=item.name, description=f"SHA-256 {item.sha256}"))
    return embedded


def render_pdf(
    view: DocumentView, *, for_signing: bool = False, attachment_files: Mapping[str, bytes] | None = None
) -> RenderedPdf:
    """Render a document to an unsigned PDF (A4, Decree 30 layout, fonts embedded).

    A document without a number or issue date shows the blank, reserved line (``Số:      /VP-TTĐH``,
    ``Hà Nội, ngày      tháng 11 năm 2025``). Printed in the page by default (previews, reports);
    with ``for_signing`` the line is left empty and its box returned: :func:`~common.pdf.signing.
    sign_as_signer` creates there, in the signer's own revision, the text field that shows the blank
    line and that is filled at issue. One revision less, and no second pass over the file here.

    Args:
        view: The document.
        for_signing: Render the final layout that the signer signs (see above).
        attachment_files: The files of ``view.attachments`` by SHA-256, to embed in the PDF (inside
            what both signatures cover); None lists them without embedding (previews, reports).

    Returns:
        The PDF and the boxes reserved in it, in PDF points.

    Raises:
        ValueError: A listed attachment's file is missing or does not match its hash and size.
    """
    embedded = _embedded(view, attachment_files) if attachment_files is not None else []
    font_config, css = _weasy_resources()
    html = HTML(
        string=render_html(view, for_signing=for_signing),
        base_url=str(_TEMPLATE_DIR) + os.sep,
        url_fetcher=_LocalOnlyFetcher(),
    )
    document = html.render(stylesheets=[css], font_config=font_config)
    sig_area = _anchor_box(document, "sig-area")
    signature_box, seal_box = _signature_boxes(sig_area)
    number_box = _anchor_box(document, "field-number") if for_signing and view.number is None else None
    date_box = _anchor_box(document, "field-date") if for_signing and view.issued_date is None else None
    annex_references = tuple(
        AnnexReference(
            annex=index,
            parts=reference.parts,
            boxes=tuple(_anchor_box(document, f"annex-ref-{index}-{line}") for line in range(1, reference.count + 1)),
            placeholders=tuple(
                reference.lines[line] if line < len(reference.lines) else "" for line in range(reference.count)
            ),
        )
        for index, reference in enumerate(
            (_annex_reference(view, annex, for_signing=for_signing) for annex in view.annexes), start=1
        )
        if reference.as_fields
    )
    # The element ids locate the boxes above; in the PDF they would become named destinations (a
    # catalogue entry of some 100 values that nothing links to and every reader of the file parses).
    for page in document.pages:
        page.anchors.clear()
    pdf = document.write_pdf(attachments=embedded)
    assert isinstance(pdf, bytes)
    return RenderedPdf(
        pdf=pdf,
        page_count=len(document.pages),
        signature_box=signature_box,
        seal_box=seal_box,
        number_box=number_box,
        date_box=date_box,
        number_placeholder=_blank_number_line(view) if number_box is not None else None,
        date_placeholder=_blank_date_line(view) if date_box is not None else None,
        annex_references=annex_references,
    )


def render_page(document: str) -> bytes:
    """Print a standalone HTML page with its own stylesheet to PDF (the PDF workers' side of
    :func:`common.pdf.pool.render_page_async`). Only bundled files and ``data:`` URLs are fetched.

    Args:
        document: The HTML page.

    Returns:
        The PDF file.
    """
    pdf = HTML(string=document, base_url=str(_TEMPLATE_DIR) + os.sep, url_fetcher=_LocalOnlyFetcher()).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf
