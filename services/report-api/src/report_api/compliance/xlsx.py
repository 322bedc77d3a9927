"""The compliance workbook: Vietnamese labels, real dates and percentages, ready to print.

Three sheets — ``Tổng hợp`` (figures and totals), ``Đơn vị`` (every unit with every field of its
latest report), ``Quá hạn`` — each with title rows naming the document, a bold header row that is
frozen, filtered and repeated on every printed page, column widths, and A4 landscape fitted to the
page width.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from report_api.compliance.repository import UnitLine
from report_api.compliance.schemas import GROUP_LABELS, ComplianceSummary
from report_api.obligations.states import STATUS_LABELS
from report_api.submissions import templates

DATE = "dd/mm/yyyy"
DATETIME = "dd/mm/yyyy hh:mm"
PERCENT = "0.0%"
INTEGER = "#,##0"
REVIEW_LABELS = {"pending": "Chờ duyệt", "accepted": "Đã duyệt", "returned": "Trả lại"}
HEADER_ROW = 5
"""Rows 1–3 name the document and the date of the figures; row 5 is the header."""

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)
_HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")
_HEADER_ALIGN = Alignment(wrap_text=True, vertical="center", horizontal="center")


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    """A moment as the local wall-clock time (Excel has no time zones)."""
    return value.astimezone(tz).replace(tzinfo=None) if value is not None else None


def _title(sheet: Worksheet, title: str, report: ComplianceSummary, width: int) -> None:
    d = report.directive
    issued = f" ngày {d.issued_on:%d/%m/%Y}" if d.issued_on else ""
    sheet.cell(1, 1, title).font = _TITLE
    sheet.cell(2, 1, f"Văn bản số {d.notation or '(chưa có số)'}{issued}: {d.subject}")
    sheet.cell(3, 1, "Số liệu đến ngày:")
    as_of = sheet.cell(3, 2, report.as_of)
    as_of.number_format = DATE
    as_of.alignment = Alignment(horizontal="left")
    for row in (1, 2):
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=max(width, 2))
        sheet.cell(row, 1).alignment = Alignment(wrap_text=row == 2, vertical="top")
    sheet.row_dimensions[2].height = 32


def _table(
    sheet: Worksheet,
    headers: Sequence[str],
    widths: Sequence[float],
    rows: Sequence[Sequence[Any]],
    formats: Sequence[str | None],
) -> None:
    for col, (label, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = sheet.cell(HEADER_ROW, col, label)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = _HEADER_ALIGN
        sheet.column_dimensions[get_column_letter(col)].width = width
    sheet.row_dimensions[HEADER_ROW].height = 45
    for r, values in enumerate(rows, start=HEADER_ROW + 1):
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(r, col, value)
            cell.border = _BORDER
            cell.alignment = _WRAP
            fmt = formats[col - 1]
            if fmt and value is not None and value != "":
                cell.number_format = fmt
    last = get_column_letter(len(headers))
    if rows:
        sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW + len(rows)}"


def _print_setup(sheet: Worksheet, freeze: str) -> None:
    sheet.freeze_panes = freeze
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.5
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.oddFooter.center.text = "Trang &P / &N"


def _summary_sheet(sheet: Worksheet, report: ComplianceSummary) -> None:
    sheet.title = "Tổng hợp"
    _title(sheet, "TỔNG HỢP TÌNH HÌNH BÁO CÁO THỰC HIỆN VĂN BẢN", report, 4)
    rows: list[list[Any]] = [["Tổng số đơn vị phải báo cáo", report.total, None, "đơn vị"]]
    rows += [[f"Trạng thái: {s.label}", s.count, None, "đơn vị"] for s in report.by_status]
    rows += [
        ["Quá hạn, chưa báo cáo", report.overdue, None, "đơn vị"],
        ["Đã báo cáo", report.submitted, None, "đơn vị"],
        ["Báo cáo đúng hạn", report.on_time, None, "đơn vị"],
        ["Báo cáo trễ hạn", report.late, None, "đơn vị"],
        [
            "Tỷ lệ báo cáo đúng hạn",
            None,
            report.on_time_rate,
            f"trên {report.on_time_base} đơn vị đã đến hạn hoặc đã báo cáo",
        ],
    ]
    rows += [
        [
            f"Nhóm: {GROUP_LABELS.get(g.group_code, g.group_code or '')}",
            g.total,
            g.on_time_rate,
            "đơn vị; tỷ lệ đúng hạn",
        ]
        for g in report.groups
    ]
    rows += [
        [f"Tổng (báo cáo đã duyệt): {report.field_labels.get(k, k)}", v, None, ""] for k, v in report.totals.items()
    ]
    _table(
        sheet,
        ["Chỉ tiêu", "Số lượng", "Tỷ lệ", "Ghi chú"],
        [60, 14, 12, 30],
        rows,
        [None, INTEGER, PERCENT, None],
    )
    _print_setup(sheet, f"A{HEADER_ROW + 1}")


def _field_value(field: templates.ReportField, value: Any, evidence: dict[str, str]) -> tuple[Any, str | None]:
    if value is None:
        return None, None
    if field.type == "non_negative_integer":
        return value, INTEGER
    if field.type == "boolean":
        return ("Có" if value else "Không"), None
    if field.type == "date":
        try:
            return date.fromisoformat(str(value)), DATE
        except ValueError:
            return str(value), None
    if field.type == "evidence":
        return "; ".join(evidence.get(str(v), str(v)) for v in value), None
    return str(value), None


def _units_sheet(
    sheet: Worksheet,
    report: ComplianceSummary,
    lines: Sequence[UnitLine],
    fields: Sequence[templates.ReportField],
    evidence: dict[str, str],
    overdue_days: dict[str, int],
    tz: ZoneInfo,
) -> None:
    fixed: list[tuple[str, float, str | None]] = [
        ("STT", 6, INTEGER),
        ("Mã đơn vị", 11, None),
        ("Tên đơn vị", 34, None),
        ("Nhóm", 22, None),
        ("Trạng thái", 20, None),
        ("Hạn ban đầu", 12, DATE),
        ("Hạn báo cáo", 12, DATE),
        ("Số ngày làm việc quá hạn", 11, INTEGER),
        ("Thời điểm tiếp nhận", 17, DATETIME),
        ("Thời điểm báo cáo lần đầu", 17, DATETIME),
        ("Báo cáo đúng hạn", 10, None),
        ("Số lần báo cáo", 9, INTEGER),
        ("Kết quả duyệt báo cáo gần nhất", 13, None),
        ("Thời điểm duyệt", 17, DATETIME),
        ("Số lần Nhắc nhở", 9, INTEGER),
        ("Số lần Phê bình", 9, INTEGER),
        ("Số lần Kiểm điểm", 9, INTEGER),
    ]
    field_width = {"text": 40, "url": 30, "evidence": 30, "date": 12}
    headers = [h for h, _, _ in fixed] + [f.label for f in fields]
    widths = [w for _, w, _ in fixed] + [float(field_width.get(f.type, 14)) for f in fields]
    rows: list[list[Any]] = []
    formats: list[str | None] = [f for _, _, f in fixed] + [None] * len(fields)
    for n, line in enumerate(lines, start=1):
        late = line.first_submission_late
        row: list[Any] = [
            n,
            line.unit_code,
            line.unit_name,
            GROUP_LABELS.get(line.group_code, line.group_code or ""),
            STATUS_LABELS[line.status],
            line.original_due_on,
            line.due_on,
            overdue_days.get(line.unit_code) or None,
            _local(line.acknowledged_at, tz),
            _local(line.first_submitted_at, tz),
            None if late is None else ("Không" if late else "Có"),
            line.submission_count or None,
            REVIEW_LABELS.get(line.review_status or ""),
            _local(line.reviewed_at, tz),
            line.nhac_nho or None,
            line.phe_binh or None,
            line.kiem_diem or None,
        ]
        for i, field in enumerate(fields):
            value, fmt = _field_value(field, (line.report or {}).get(field.key), evidence)
            row.append(value)
            if fmt:
                formats[len(fixed) + i] = fmt
        rows.append(row)
    _title(sheet, "DANH SÁCH ĐƠN VỊ VÀ KẾT QUẢ BÁO CÁO", report, len(headers))
    _table(sheet, headers, widths, rows, formats)
    _print_setup(sheet, f"D{HEADER_ROW + 1}")


def _overdue_sheet(sheet: Worksheet, report: ComplianceSummary) -> None:
    rows = [
        [
            n,
            o.unit_code,
            o.unit_name,
            GROUP_LABELS.get(o.group_code, o.group_code or ""),
            o.due_on,
            o.working_days_overdue,
            o.reminder_counts.nhac_nho,
            o.reminder_counts.phe_binh,
            o.reminder_counts.kiem_diem,
        ]
        for n, o in enumerate(report.overdue_units, start=1)
    ]
    headers = [
        "STT",
        "Mã đơn vị",
        "Tên đơn vị",
        "Nhóm",
        "Hạn báo cáo",
        "Số ngày làm việc quá hạn",
        "Số lần Nhắc nhở",
        "Số lần Phê bình",
        "Số lần Kiểm điểm",
    ]
    _title(sheet, "DANH SÁCH ĐƠN VỊ QUÁ HẠN CHƯA BÁO CÁO", report, len(headers))
    _table(
        sheet,
        headers,
        [6, 11, 40, 24, 12, 12, 10, 10, 10],
        rows,
        [INTEGER, None, None, None, DATE, INTEGER, INTEGER, INTEGER, INTEGER],
    )
    _print_setup(sheet, f"D{HEADER_ROW + 1}")


def workbook(
    report: ComplianceSummary,
    lines: Sequence[UnitLine],
    fields: Sequence[templates.ReportField],
    evidence: dict[str, str],
    *,
    overdue_days: dict[str, int],
    timezone: str,
) -> bytes:
    """The compliance workbook of one document (as of ``report.as_of``)."""
    book = Workbook()
    first = book.active
    assert first is not None
    _summary_sheet(first, report)
    _units_sheet(book.create_sheet("Đơn vị"), report, lines, fields, evidence, overdue_days, ZoneInfo(timezone))
    _overdue_sheet(book.create_sheet("Quá hạn"), report)
    book.properties.title = f"Tình hình báo cáo {report.directive.notation or ''}".strip()
    book.properties.creator = "report-api"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def filename(report: ComplianceSummary) -> str:
    """``tinh-hinh-bao-cao-01-VPUB-TTĐH-2026-12-16.xlsx``: the notation, not an id."""
    notation = (report.directive.notation or report.directive.id).replace("/", "-").replace(" ", "-")
    return f"tinh-hinh-bao-cao-{notation}-{report.as_of.isoformat()}.xlsx"
