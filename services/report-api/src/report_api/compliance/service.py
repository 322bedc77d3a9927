"""The Office's compliance view of a document: counts, on-time rate, groups, totals, overdue units.

The summary is computed with SQL aggregates and column selects (no ORM objects per unit) into plain,
JSON-ready dicts: the JSON route returns them as they are; the dashboard, the workbook and the PDF
report validate them into :class:`ComplianceSummary` (they are not on the hot path).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from common.calendar import WorkingCalendar
from common.pdf.model import DocumentView, Heading, ListItem, Paragraph, SignatureBlock
from common.pdf.pool import render_pdf_async
from report_api.access import require_office
from report_api.compliance import repository
from report_api.compliance.schemas import GROUP_LABELS, ComplianceSummary, UnitsMode
from report_api.context import Context
from report_api.obligations.errors import DirectiveNotFoundError
from report_api.obligations.states import AWAITING_UNIT, STATUS_LABELS, ObligationStatus
from report_api.submissions import templates

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
Format = Literal["json", "xlsx", "pdf"]


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _group_key(code: str | None) -> tuple[bool, str]:
    return (code is None, code or "")


async def summary_data(
    session: AsyncSession,
    directive_id: str,
    *,
    today: date,
    calendar: WorkingCalendar,
    units: UnitsMode = "none",
    limit: int | None = None,
    offset: int = 0,
) -> dict[str, Any]:
    """The compliance summary of one document as of ``today`` (local date), as JSON-ready dicts.

    Counts per status and group, on-time figures and the overdue list come from SQL aggregates and
    column selects; totals of the reported figures from the accepted reports' ``data`` of this
    document only. ``units`` chooses the per-unit rows (``limit``/``offset`` page them, ordered by
    unit code); ``units_page`` tells which rows were included and where the next page starts.
    """
    directive = await repository.directive(session, directive_id)
    if directive is None:
        raise DirectiveNotFoundError(f"no document {directive_id} is known to report-api")
    fields = templates.parse_fields((directive.compliance or {}).get("report_fields"))

    # 1. Counts: one row per (group, status, first report late?, deadline) — a handful of rows.
    aggregate = await repository.status_counts(session, directive.id)
    by_status: Counter[str] = Counter()
    total = on_time = late = overdue = rated = 0
    group_total: Counter[str | None] = Counter()
    group_rated: Counter[str | None] = Counter()
    group_status: dict[str | None, Counter[str]] = defaultdict(Counter)
    group_overdue: Counter[str | None] = Counter()
    group_on_time: Counter[str | None] = Counter()
    for group_code, status, first_late, due_on, n in aggregate:
        total += n
        by_status[status] += n
        group_total[group_code] += n
        group_status[group_code][status] += n
        if first_late is False:
            on_time += n
            group_on_time[group_code] += n
        elif first_late is True:
            late += n
        if status in AWAITING_UNIT and today > due_on:
            overdue += n
            group_overdue[group_code] += n
        # The rate asks "of the units that had to answer by now, how many did so on time": a unit
        # whose deadline is still ahead counts only once it has reported.
        if first_late is not None or today > due_on:
            rated += n
            group_rated[group_code] += n
    status_order = [s.value for s in ObligationStatus]
    groups = [
        {
            "group_code": code,
            "total": group_total[code],
            "by_status": {s: group_status[code][s] for s in status_order if group_status[code][s]},
            "overdue": group_overdue[code],
            "on_time": group_on_time[code],
            "on_time_base": group_rated[code],
            "on_time_rate": _rate(group_on_time[code], group_rated[code]),
        }
        for code in sorted(group_total, key=_group_key)
    ]

    # 2. Totals of the reported figures over the accepted reports of this document.
    totals: dict[str, int] = {f.key: 0 for f in fields if f.type in templates.NUMERIC_TYPES or f.type == "boolean"}
    accepted: dict[uuid.UUID, dict[str, Any]] = {}
    if totals or units != "none":
        accepted = await repository.accepted_reports(session, directive.id)
    for data in accepted.values():
        for key in totals:
            value = data.get(key)
            if isinstance(value, bool):
                totals[key] += int(value)
            elif isinstance(value, int):
                totals[key] += value

    # 3. The overdue units, with their reminder counters.
    overdue_days: dict[date, int] = {}

    def days_overdue(due_on: date) -> int:
        if due_on not in overdue_days:
            overdue_days[due_on] = calendar.working_days_between(due_on, today)
        return overdue_days[due_on]

    overdue_rows = await repository.overdue_units(session, directive.id, today)
    overdue_units = [
        {
            "obligation_id": str(oid),
            "unit_code": unit_code,
            "unit_name": unit_name,
            "group_code": group_code,
            "status": status,
            "due_on": due_on.isoformat(),
            "working_days_overdue": days_overdue(due_on),
            "reminder_counts": {"nhac_nho": nhac_nho, "phe_binh": phe_binh, "kiem_diem": kiem_diem},
        }
        for oid, unit_code, unit_name, group_code, status, due_on, nhac_nho, phe_binh, kiem_diem in overdue_rows
    ]

    # 4. The per-unit rows that were asked for.
    unit_rows: list[dict[str, Any]] = []
    units_total = {"none": 0, "overdue": overdue, "all": total}[units]
    if units != "none":
        rows = await repository.unit_rows(
            session, directive.id, today=today, overdue_only=units == "overdue", limit=limit, offset=offset
        )
        for oid, unit_code, unit_name, group_code, status, due_on, first_late in rows:
            report = accepted.get(oid)
            unit_rows.append(
                {
                    "obligation_id": str(oid),
                    "unit_code": unit_code,
                    "unit_name": unit_name,
                    "group_code": group_code,
                    "status": status,
                    "status_label": STATUS_LABELS[status],
                    "due_on": due_on.isoformat(),
                    "overdue": status in AWAITING_UNIT and today > due_on,
                    "late": first_late,
                    "figures": {k: report.get(k) for k in totals} if report is not None else {},
                }
            )
    next_offset = offset + len(unit_rows)
    return {
        "directive": {
            "id": directive.id,
            "notation": directive.notation,
            "subject": directive.subject,
            "issued_on": directive.issued_on.isoformat() if directive.issued_on else None,
            "status": directive.status,
        },
        "as_of": today.isoformat(),
        "total": total,
        "by_status": [{"status": s, "label": STATUS_LABELS[s], "count": by_status.get(s, 0)} for s in status_order],
        "overdue": overdue,
        "submitted": on_time + late,
        "on_time": on_time,
        "late": late,
        "on_time_base": rated,
        "on_time_rate": _rate(on_time, rated),
        "totals": totals,
        "field_labels": {f.key: f.label for f in fields if f.key in totals},
        "groups": groups,
        "overdue_units": overdue_units,
        "units": unit_rows,
        "units_page": {
            "mode": units,
            "total": units_total,
            "offset": offset,
            "limit": limit,
            "next_offset": next_offset if units != "none" and next_offset < units_total else None,
        },
    }


async def summary(
    session: AsyncSession,
    directive_id: str,
    *,
    today: date,
    calendar: WorkingCalendar,
    units: UnitsMode = "all",
    limit: int | None = None,
    offset: int = 0,
) -> ComplianceSummary:
    """The summary as a model (the dashboard, the workbook, the PDF report): all units by default."""
    data = await summary_data(
        session, directive_id, today=today, calendar=calendar, units=units, limit=limit, offset=offset
    )
    return ComplianceSummary.model_validate(data)


# --- the PDF report (Decree 30 administrative report) ---------------------------------------------

REPORT_PARENT_BODY = "UBND THÀNH PHỐ CẦN THƠ"
REPORT_ISSUER = "VĂN PHÒNG"
REPORT_NOTATION = "BC-VPUB"
REPORT_PLACE = "Cần Thơ"


def format_count(value: int) -> str:
    """An integer the Vietnamese way (``12.345``)."""
    return f"{value:,}".replace(",", ".")


def format_rate(rate: float) -> str:
    """A rate in percent the Vietnamese way: one decimal, a decimal comma, a no-break space (``4,9 %``)."""
    return f"{rate * 100:.1f}".replace(".", ",") + "\u00a0%"


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def report_subject(report: ComplianceSummary) -> str:
    """``Tình hình thực hiện Công văn số <notation> về việc …`` (trích yếu of the report)."""
    topic = report.directive.subject.removeprefix("V/v").strip()
    document = f"Công văn số {report.directive.notation}" if report.directive.notation else "văn bản"
    return f"Tình hình thực hiện {document} về việc {topic}" if topic else f"Tình hình thực hiện {document}"


def to_document_view(
    report: ComplianceSummary, *, signer_lines: list[str], signer_name: str, issued_on: date
) -> DocumentView:
    """The summary as an administrative report (BÁO CÁO) of the Office, ready for the renderer."""
    document = f"Công văn số {report.directive.notation}" if report.directive.notation else "văn bản"
    group_items: list[Heading | Paragraph | ListItem] = [
        ListItem(
            text=(
                f"{GROUP_LABELS.get(g.group_code, g.group_code or 'Khác')}: {format_count(g.total)} đơn vị, "
                f"{format_count(g.on_time)} đơn vị báo cáo đúng hạn (tỷ lệ {format_rate(g.on_time_rate)}), "
                f"{format_count(g.overdue)} đơn vị quá hạn;"
            )
        )
        for g in report.groups
    ]
    body: list[Heading | Paragraph | ListItem] = [
        Heading(text="I. Kết quả tổng hợp"),
        Paragraph(
            text=(
                f"Tính đến ngày {_day(report.as_of)}, {document} có {format_count(report.total)} đơn vị "
                f"phải thực hiện; {format_count(report.submitted)} đơn vị đã gửi báo cáo "
                f"({format_count(report.on_time)} đúng hạn, {format_count(report.late)} trễ hạn); "
                f"{format_count(report.overdue)} đơn vị quá hạn chưa báo cáo. "
                f"Tỷ lệ báo cáo đúng hạn: {format_rate(report.on_time_rate)}."
            )
        ),
        Paragraph(text="Số đơn vị theo trạng thái xử lý:"),
        *[ListItem(text=f"{s.label}: {format_count(s.count)} đơn vị;") for s in report.by_status if s.count],
        ListItem(text=f"Quá hạn chưa báo cáo: {format_count(report.overdue)} đơn vị."),
        Heading(text="II. Kết quả theo nhóm đơn vị"),
        *(group_items or [Paragraph(text="Chưa có đơn vị nào phải thực hiện.")]),
        Heading(text="III. Tổng hợp số liệu báo cáo"),
    ]
    if report.totals:
        body.append(Paragraph(text="Tổng hợp từ các báo cáo đã được duyệt:"))
        body.extend(
            ListItem(text=f"{report.field_labels.get(key, key)}: {format_count(value)};")
            for key, value in report.totals.items()
        )
    else:
        body.append(Paragraph(text="Văn bản không yêu cầu báo cáo số liệu."))
    body.append(Heading(text="IV. Danh sách đơn vị quá hạn chưa báo cáo"))
    if report.overdue_units:
        body.extend(
            ListItem(
                text=(
                    f"{u.unit_name} ({u.unit_code}): hạn {_day(u.due_on)}, quá hạn "
                    f"{format_count(u.working_days_overdue)} ngày làm việc; đã nhắc nhở {u.reminder_counts.nhac_nho} "
                    f"lần, phê bình {u.reminder_counts.phe_binh} lần, kiểm điểm {u.reminder_counts.kiem_diem} lần;"
                )
            )
            for u in report.overdue_units
        )
    else:
        body.append(Paragraph(text="Không có đơn vị quá hạn chưa báo cáo."))
    body.append(
        Paragraph(
            text=(
                "Văn phòng Ủy ban nhân dân thành phố báo cáo Chủ tịch, các Phó Chủ tịch Ủy ban nhân dân "
                "thành phố xem xét, chỉ đạo./."
            )
        )
    )
    return DocumentView(
        parent_body=REPORT_PARENT_BODY,
        issuer_name=REPORT_ISSUER,
        notation=REPORT_NOTATION,
        number=None,
        place=REPORT_PLACE,
        issued_date=issued_on,
        doc_type_name="BÁO CÁO",
        subject=report_subject(report),
        addressees=("Chủ tịch, các Phó Chủ tịch Ủy ban nhân dân thành phố",),
        body=tuple(body),
        signature=SignatureBlock(authority_lines=tuple(signer_lines), signer_name=signer_name),
        recipients=("Như trên", "Chánh Văn phòng, các Phó Chánh Văn phòng"),
        archive_line="Lưu: VT.",
        is_draft=False,
    )


# --- the files: the workbook and the PDF report ------------------------------------------------------


async def compliance_workbook(
    session: AsyncSession, directive_id: str, *, today: date, calendar: WorkingCalendar, timezone: str
) -> tuple[str, bytes]:
    """(file name, XLSX bytes): the summary, every unit with every field of its latest report, the overdue."""
    report = await summary(session, directive_id, today=today, calendar=calendar, units="none")
    directive = await repository.directive(session, directive_id)
    if directive is None:  # summary() already answered 404; kept for the type checker
        raise DirectiveNotFoundError(f"no document {directive_id} is known to report-api")
    fields = templates.parse_fields((directive.compliance or {}).get("report_fields"))
    lines = await repository.unit_lines(session, directive_id)
    evidence = (
        await repository.evidence_names(session, directive_id) if any(f.type == "evidence" for f in fields) else {}
    )
    overdue_days = {
        line.unit_code: calendar.working_days_between(line.due_on, today)
        for line in lines
        if line.status in AWAITING_UNIT and today > line.due_on
    }
    from report_api.compliance import xlsx  # openpyxl: loaded on the first export, not in every web process

    content = xlsx.workbook(report, lines, fields, evidence, overdue_days=overdue_days, timezone=timezone)
    return xlsx.filename(report), content


async def compliance_pdf(
    session: AsyncSession,
    directive_id: str,
    *,
    today: date,
    calendar: WorkingCalendar,
    signer_lines: list[str],
    signer_name: str,
) -> tuple[str, bytes]:
    """(file name, PDF bytes): the Office's Decree 30 BÁO CÁO on the document's compliance."""
    report = await summary(session, directive_id, today=today, calendar=calendar, units="none")
    view = to_document_view(report, signer_lines=signer_lines, signer_name=signer_name, issued_on=today)
    rendered = await render_pdf_async(view)
    notation = (report.directive.notation or report.directive.id).replace("/", "-").replace(" ", "-")
    return f"bao-cao-tinh-hinh-{notation}-{today.isoformat()}.pdf", rendered.pdf


@dataclass(frozen=True)
class Rendered:
    """The compliance view in the format asked for: JSON data, or a file (name, bytes, media type)."""

    data: dict[str, Any] | None = None
    filename: str = ""
    content: bytes = b""
    media_type: str = "application/json"


async def compliance_view(
    session: AsyncSession,
    directive_id: str,
    actor: Principal,
    ctx: Context,
    *,
    wanted: Format,
    units: UnitsMode,
    limit: int,
    offset: int,
) -> Rendered:
    """The document's compliance for the Office: JSON (per-unit rows as asked), the workbook or the PDF."""
    require_office(actor, ctx.settings)
    today = ctx.today()
    if wanted == "xlsx":
        name, content = await compliance_workbook(
            session, directive_id, today=today, calendar=ctx.calendar, timezone=ctx.settings.timezone
        )
        return Rendered(filename=name, content=content, media_type=XLSX)
    if wanted == "pdf":
        name, content = await compliance_pdf(
            session,
            directive_id,
            today=today,
            calendar=ctx.calendar,
            signer_lines=ctx.settings.report_signer_lines,
            signer_name=ctx.settings.report_signer_name,
        )
        return Rendered(filename=name, content=content, media_type=PDF)
    data = await summary_data(
        session,
        directive_id,
        today=today,
        calendar=ctx.calendar,
        units=units,
        limit=limit if units == "all" else None,
        offset=offset if units == "all" else 0,
    )
    return Rendered(data=data)


async def export_file(session: AsyncSession, directive_id: str, kind: str, actor: Principal, ctx: Context) -> Rendered:
    """The workbook (``xlsx``) or the PDF report (``pdf``) of the pages' export links."""
    require_office(actor, ctx.settings)
    wanted: Format
    if kind == "xlsx":
        wanted = "xlsx"
    elif kind == "pdf":
        wanted = "pdf"
    else:
        raise DirectiveNotFoundError("exports are .xlsx or .pdf")
    return await compliance_view(session, directive_id, actor, ctx, wanted=wanted, units="none", limit=1, offset=0)
