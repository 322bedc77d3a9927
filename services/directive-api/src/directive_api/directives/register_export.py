"""The outgoing register (Sổ đăng ký văn bản đi, Decree 30 Phụ lục IV) as XLSX and as PDF."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from common.pdf.fontfiles import font_path
from common.pdf.pool import render_page_async
from directive_api.directives import repository
from directive_api.directives.models import Directive, Register, RegisterEntry
from directive_api.directives.states import DOC_TYPES
from directive_api.orgs.models import Unit

COLUMNS = (
    "Số, ký hiệu văn bản",
    "Ngày tháng văn bản",
    "Tên loại và trích yếu nội dung văn bản",
    "Người ký",
    "Nơi nhận văn bản",
    "Đơn vị, người nhận bản lưu",
    "Số lượng bản",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
)

NOTES = {"recalled": "Đã thu hồi", "replaced": "Đã được thay thế", "archived": "Đã lưu hồ sơ"}


@dataclass(frozen=True)
class RegisterRow:
    """One line of the register, in the decree's ten columns."""

    notation: str
    issued_on: date | None
    type_and_subject: str
    signer: str
    recipients: str
    """One recipient a line: the Kính gửi entries, then the Nơi nhận entries (without ``Như trên``)."""
    archive_holder: str
    copies: int | None
    dispatched_on: date | None
    signature: str
    note: str

    def cells(self) -> tuple[str | int | date | None, ...]:
        """The ten columns, dates as dates (the workbook formats them)."""
        return (
            self.notation,
            self.issued_on,
            self.type_and_subject,
            self.signer,
            self.recipients,
            self.archive_holder,
            self.copies,
            self.dispatched_on,
            self.signature,
            self.note,
        )

    def printed(self) -> tuple[str, ...]:
        """The ten columns as printed text (``05/01/2026``)."""
        return tuple(_day(c) if isinstance(c, date) else "" if c is None else str(c) for c in self.cells())


def _day(value: date | None) -> str:
    return f"{value.day:02d}/{value.month:02d}/{value.year}" if value else ""


def _recipients(directive: Directive, groups: dict[str, str], units: dict[str, Unit]) -> list[str]:
    """Where the document went, as the paper lists it: Kính gửi, then Nơi nhận (``Như trên`` is the Kính gửi)."""

    def unit_name(code: str, short: bool) -> str:
        unit = units.get(code)
        return code if unit is None else (unit.short_name or unit.name) if short else unit.name

    lines = [
        a.label or (groups.get(a.group, a.group) if a.group else unit_name(a.unit or "", False))
        for a in directive.addressee_entries
    ]
    for r in directive.info_recipient_entries:
        if r.as_above:
            continue
        line = r.text or r.label or "; ".join(unit_name(c, True) for c in r.units)
        if line and line not in lines:
            lines.append(line)
    return lines


async def rows(session: AsyncSession, entries: Sequence[RegisterEntry]) -> list[RegisterRow]:
    """The register's lines, in number order."""
    ids = [e.directive_id for e in entries]
    directives = await repository.directives_by_id(session, ids)
    counts = await repository.delivery_counts(session, ids)
    groups = await repository.group_names(session)
    unit_codes = {a.unit for d in directives.values() for a in d.addressee_entries if a.unit}
    unit_codes |= {c for d in directives.values() for r in d.info_recipient_entries for c in r.units}
    units = await repository.units_by_code(session, unit_codes)
    lines = []
    for entry in entries:
        directive = directives[entry.directive_id]
        type_name, abbreviation = DOC_TYPES[entry.doc_type]
        subject = ("V/v " if abbreviation is None else "") + entry.subject
        sent = counts.get(directive.id)
        holder = directive.archive_line.removeprefix("Lưu:").strip().rstrip(".")
        dispatched = directive.dispatched_at.date() if directive.dispatched_at else None
        lines.append(
            RegisterRow(
                notation=entry.notation,
                issued_on=entry.issued_on,
                type_and_subject=f"{type_name}: {subject}",
                signer=entry.signer_name,
                recipients="\n".join(_recipients(directive, groups, units)),
                archive_holder=holder,
                copies=directive.copies or sent,
                dispatched_on=dispatched,
                signature="",
                note=NOTES.get(directive.status, ""),
            )
        )
    return lines


def to_xlsx(register: Register, issuer: Unit, lines: Sequence[RegisterRow]) -> bytes:
    """The register as an Excel workbook: a title block, the ten numbered columns, one row per number."""
    from openpyxl import Workbook  # loaded on the first export, not in every web process
    from openpyxl.styles import Alignment, Border, Font, Side

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = f"So VB di {register.year}"
    bold = Font(name="Times New Roman", bold=True, size=12)
    regular = Font(name="Times New Roman", size=12)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    sheet.append([issuer.letterhead_parent or ""])
    sheet.append([issuer.letterhead_name or issuer.name])
    sheet.append(["SỔ ĐĂNG KÝ VĂN BẢN ĐI"])
    first, last = (lines[0].notation, lines[-1].notation) if lines else ("", "")
    sheet.append([f"Năm {register.year} — Sổ {register.code} — Từ số {first} đến số {last}"])
    sheet.append([])
    header_row = 6  # four title rows and a blank one (max_row does not count the blank row)
    sheet.append(list(COLUMNS))
    sheet.append([f"({i})" for i in range(1, 11)])
    for row in sheet.iter_rows(min_row=header_row, max_row=header_row + 1):
        for cell in row:
            cell.font = bold
            cell.border = border
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for line in lines:
        sheet.append(list(line.cells()))
        for cell in sheet[sheet.max_row]:
            cell.font = regular
            cell.border = border
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            if isinstance(cell.value, date):
                cell.number_format = "dd/mm/yyyy"
    for title_row in range(1, 5):
        sheet.cell(row=title_row, column=1).font = bold
    for letter, width in zip("ABCDEFGHIJ", (18, 12, 50, 20, 40, 18, 9, 12, 10, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = sheet.cell(row=header_row + 2, column=1)
    # printed and bound as the book itself: A4 landscape, the columns fitted to the width, the
    # header (names and numbers) repeated on every page
    sheet.print_title_rows = f"{header_row}:{header_row + 1}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins.left = 0.8
    sheet.page_margins.right = sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.oddFooter.center.text = "Trang &P / &N"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def to_pdf(register: Register, issuer: Unit, lines: Sequence[RegisterRow]) -> bytes:
    """The register printed on A4 landscape with the document fonts (for binding, "đóng sổ"), rendered
    in a PDF worker process like every other PDF: the web process never loads WeasyPrint."""
    return await render_page_async(page_html(register, issuer, lines))


def page_html(register: Register, issuer: Unit, lines: Sequence[RegisterRow]) -> str:
    """The printed register as one HTML page with its own stylesheet (fonts: the bundled faces)."""
    faces = "".join(
        f"@font-face {{ font-family: 'Doc'; src: url('{font_path(style).as_uri()}'); "
        f"font-weight: {'bold' if 'Bold' in style else 'normal'}; "
        f"font-style: {'italic' if 'Italic' in style else 'normal'}; }}"
        for style in ("Regular", "Bold", "Italic", "BoldItalic")
    )
    esc = html.escape
    body_rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in line.printed()) + "</tr>" for line in lines)
    numbers = [line.notation for line in lines]
    document = f"""<!doctype html><html lang="vi"><head><meta charset="utf-8"><style>
    {faces}
    @page {{ size: A4 landscape; margin: 15mm 15mm 15mm 20mm;
             @top-center {{ content: counter(page); font: 11pt 'Doc'; }} }}
    @page :first {{ @top-center {{ content: none; }} }}
    body {{ font-family: 'Doc'; font-size: 11pt; }}
    .cover {{ text-align: center; margin-bottom: 8mm; }} .cover p {{ margin: 1mm 0; }}
    h1 {{ font-size: 16pt; margin: 4mm 0 2mm; }}
    table {{ border-collapse: collapse; width: 100%; }}
    th, td {{ border: 0.5pt solid #000; padding: 1.5mm; vertical-align: top; white-space: pre-line; }}
    th {{ font-weight: bold; text-align: center; }} thead {{ display: table-header-group; }}
    td:nth-child(1), td:nth-child(2), td:nth-child(8) {{ white-space: nowrap; }}
    </style></head><body>
    <div class="cover"><p>{esc(issuer.letterhead_parent or "")}</p>
    <p><b>{esc(issuer.letterhead_name or issuer.name)}</b></p>
    <h1>SỔ ĐĂNG KÝ VĂN BẢN ĐI</h1><p>Năm {register.year} — Sổ {esc(register.code)}</p>
    <p>Từ số {esc(numbers[0] if numbers else "")} đến số {esc(numbers[-1] if numbers else "")}</p></div>
    <table><thead><tr>{"".join(f"<th>{esc(c)}</th>" for c in COLUMNS)}</tr>
    <tr>{"".join(f"<th>({i})</th>" for i in range(1, 11))}</tr></thead><tbody>{body_rows}</tbody></table>
    </body></html>"""
    return document
