"""The compliance workbook of a document, for the Office."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from common.calendar import WorkingCalendar
from common.pdf.pool import render_pdf_async
from report_api.exports import repository
from report_api.obligations import compliance, templates
from report_api.obligations.errors import DirectiveNotFoundError
from report_api.obligations.lifecycle import AWAITING_UNIT
from report_api.obligations.models import DirectiveRecord


async def compliance_workbook(
    session: AsyncSession, directive_id: str, *, today: date, calendar: WorkingCalendar, timezone: str
) -> tuple[str, bytes]:
    """(file name, XLSX bytes): the summary, every unit with every field of its latest report, the overdue."""
    report = await compliance.summary(session, directive_id, today=today, calendar=calendar, units="none")
    directive = await session.get(DirectiveRecord, directive_id)
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
    from report_api.exports import xlsx  # openpyxl: loaded on the first export, not in every web process

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
    report = await compliance.summary(session, directive_id, today=today, calendar=calendar, units="none")
    view = compliance.to_document_view(report, signer_lines=signer_lines, signer_name=signer_name, issued_on=today)
    rendered = await render_pdf_async(view)
    notation = (report.directive.notation or report.directive.id).replace("/", "-").replace(" ", "-")
    return f"bao-cao-tinh-hinh-{notation}-{today.isoformat()}.pdf", rendered.pdf
