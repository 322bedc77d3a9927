"""The Office's compliance view of a document: counts, on-time rate, groups, totals, overdue units."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from common.calendar import WorkingCalendar
from report_api.obligations import templates
from report_api.obligations.errors import DirectiveNotFoundError
from report_api.obligations.lifecycle import AWAITING_UNIT, STATUS_LABELS, ObligationStatus
from report_api.obligations.models import DirectiveRecord, Obligation, Submission
from report_api.obligations.schemas import (
    ComplianceSummary,
    DirectiveSummary,
    GroupSummary,
    OverdueUnit,
    ReminderCounts,
    StatusCount,
    UnitRow,
)

GROUP_LABELS = {
    "department": "Sở, ban, ngành thành phố",
    "socio_political_org": "Các tổ chức chính trị - xã hội",
    "commune_level": "Ủy ban nhân dân xã, phường",
    None: "Khác",
}


def directive_summary(directive: DirectiveRecord) -> DirectiveSummary:
    return DirectiveSummary(
        id=directive.id,
        notation=directive.notation,
        subject=directive.subject,
        issued_on=directive.issued_on,
        status=directive.status,
    )


def counts(obligation: Obligation) -> ReminderCounts:
    return ReminderCounts(
        nhac_nho=obligation.nhac_nho_count, phe_binh=obligation.phe_binh_count, kiem_diem=obligation.kiem_diem_count
    )


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


async def summary(
    session: AsyncSession, directive_id: str, *, today: date, calendar: WorkingCalendar
) -> ComplianceSummary:
    """Compute the compliance summary of one document as of ``today`` (local date)."""
    directive = await session.get(DirectiveRecord, directive_id)
    if directive is None:
        raise DirectiveNotFoundError(f"no document {directive_id} is known to report-api")
    fields = templates.parse_fields((directive.compliance or {}).get("report_fields"))
    obligations = list(
        (
            await session.scalars(
                select(Obligation).where(Obligation.directive_id == directive.id).order_by(Obligation.unit_code)
            )
        ).all()
    )
    accepted = {
        s.obligation_id: s
        for s in (
            await session.scalars(
                select(Submission)
                .join(Obligation, Obligation.id == Submission.obligation_id)
                .where(Obligation.directive_id == directive.id, Submission.review_status == "accepted")
            )
        ).all()
    }
    by_status = Counter(o.status for o in obligations)
    totals: dict[str, int] = {}
    for field in fields:
        if field.type in templates.NUMERIC_TYPES or field.type == "boolean":
            totals[field.key] = 0
    for submission in accepted.values():
        for key in totals:
            value = submission.data.get(key)
            if isinstance(value, bool):
                totals[key] += int(value)
            elif isinstance(value, int):
                totals[key] += value

    def is_overdue(o: Obligation) -> bool:
        return o.status in AWAITING_UNIT and today > o.due_on

    groups: dict[str | None, list[Obligation]] = defaultdict(list)
    for o in obligations:
        groups[o.group_code].append(o)
    group_rows = []
    for code in sorted(groups, key=lambda c: (c is None, c or "")):
        members = groups[code]
        on_time = sum(1 for o in members if o.first_submission_late is False)
        group_rows.append(
            GroupSummary(
                group_code=code,
                total=len(members),
                by_status=dict(Counter(o.status for o in members)),
                overdue=sum(1 for o in members if is_overdue(o)),
                on_time=on_time,
                on_time_rate=_rate(on_time, len(members)),
            )
        )
    overdue_units = [
        OverdueUnit(
            obligation_id=o.id,
            unit_code=o.unit_code,
            unit_name=o.unit_name,
            group_code=o.group_code,
            status=o.status,
            due_on=o.due_on,
            working_days_overdue=calendar.working_days_between(o.due_on, today),
            reminder_counts=counts(o),
        )
        for o in obligations
        if is_overdue(o)
    ]
    units = [
        UnitRow(
            obligation_id=o.id,
            unit_code=o.unit_code,
            unit_name=o.unit_name,
            group_code=o.group_code,
            status=o.status,
            status_label=STATUS_LABELS[o.status],
            due_on=o.due_on,
            overdue=is_overdue(o),
            late=o.first_submission_late,
            figures={k: accepted[o.id].data.get(k) for k in totals} if o.id in accepted else {},
        )
        for o in obligations
    ]
    on_time = sum(1 for o in obligations if o.first_submission_late is False)
    late = sum(1 for o in obligations if o.first_submission_late is True)
    return ComplianceSummary(
        directive=directive_summary(directive),
        as_of=today,
        total=len(obligations),
        by_status=[
            StatusCount(status=s.value, label=STATUS_LABELS[s.value], count=by_status.get(s.value, 0))
            for s in ObligationStatus
        ],
        overdue=len(overdue_units),
        submitted=on_time + late,
        on_time=on_time,
        late=late,
        on_time_rate=_rate(on_time, len(obligations)),
        totals=totals,
        field_labels={f.key: f.label for f in fields if f.key in totals},
        groups=group_rows,
        overdue_units=overdue_units,
        units=units,
    )


def to_xlsx(report: ComplianceSummary) -> bytes:
    """The summary as a workbook: ``Tổng hợp`` (counts and totals), ``Đơn vị`` and ``Quá hạn``."""
    book = Workbook()
    bold = Font(bold=True)
    sheet = book.active
    assert sheet is not None
    sheet.title = "Tổng hợp"
    sheet.append(["Văn bản", report.directive.notation or "", report.directive.subject])
    sheet.append(["Số liệu đến ngày", report.as_of.isoformat()])
    sheet.append([])
    sheet.append(["Trạng thái", "Mã", "Số đơn vị"])
    for item in report.by_status:
        sheet.append([item.label, item.status, item.count])
    sheet.append(["Quá hạn", "overdue", report.overdue])
    sheet.append(["Tổng số đơn vị", "total", report.total])
    sheet.append(["Báo cáo đúng hạn", "on_time", report.on_time])
    sheet.append(["Báo cáo trễ hạn", "late", report.late])
    sheet.append(["Tỷ lệ đúng hạn", "on_time_rate", report.on_time_rate])
    sheet.append([])
    sheet.append(["Chỉ tiêu (tổng các báo cáo đã duyệt)", "Mã", "Tổng"])
    for key, value in report.totals.items():
        sheet.append([report.field_labels.get(key, key), key, value])
    for row in sheet.iter_rows():
        if row[0].value in {"Trạng thái", "Chỉ tiêu (tổng các báo cáo đã duyệt)"}:
            for cell in row:
                cell.font = bold

    units = book.create_sheet("Đơn vị")
    keys = list(report.totals)
    units.append(["Mã đơn vị", "Tên đơn vị", "Nhóm", "Trạng thái", "Hạn", "Quá hạn", "Trễ hạn", *keys])
    for u in report.units:
        units.append(
            [
                u.unit_code,
                u.unit_name,
                GROUP_LABELS.get(u.group_code, u.group_code or ""),
                u.status_label,
                u.due_on,
                "x" if u.overdue else "",
                "" if u.late is None else ("x" if u.late else ""),
                *[_cell(u.figures.get(k)) for k in keys],
            ]
        )
    overdue = book.create_sheet("Quá hạn")
    overdue.append(["Mã đơn vị", "Tên đơn vị", "Hạn", "Số ngày làm việc quá hạn", "Nhắc nhở", "Phê bình", "Kiểm điểm"])
    for o in report.overdue_units:
        c = o.reminder_counts
        overdue.append(
            [o.unit_code, o.unit_name, o.due_on, o.working_days_overdue, c.nhac_nho, c.phe_binh, c.kiem_diem]
        )
    for ws in (units, overdue):
        for cell in ws[1]:
            cell.font = bold
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "Có" if value else "Không"
    return value
