"""Queries of the portfolio: the followed documents and, for one page of them, their figures."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from report_api.obligations.lifecycle import AWAITING_UNIT, ObligationStatus
from report_api.obligations.models import DirectiveRecord, Obligation


async def followed(
    session: AsyncSession, *, issuer: str | None, doc_type: str | None, status: str | None, since: date | None
) -> list[Any]:
    """The documents report-api follows (with obligations), newest first: summary columns only."""
    statement = (
        select(
            DirectiveRecord.id,
            DirectiveRecord.notation,
            DirectiveRecord.subject,
            DirectiveRecord.issuer_code,
            DirectiveRecord.doc_type,
            DirectiveRecord.issued_on,
            DirectiveRecord.status,
        )
        # followed = has obligations (a dispatched document that asks for reports)
        .where(select(Obligation.id).where(Obligation.directive_id == DirectiveRecord.id).exists())
        .order_by(DirectiveRecord.issued_on.desc(), DirectiveRecord.notation)
    )
    if issuer:
        statement = statement.where(DirectiveRecord.issuer_code == issuer)
    if doc_type:
        statement = statement.where(DirectiveRecord.doc_type == doc_type)
    if status:
        statement = statement.where(DirectiveRecord.status == status)
    if since:
        statement = statement.where(DirectiveRecord.issued_on >= since)
    return list((await session.execute(statement)).all())


async def figures(session: AsyncSession, ids: list[str], today: date) -> dict[str, dict[str, Any]]:
    """Per document: units, overdue, silent, on time and the rate's base, the earliest deadline."""
    if not ids:
        return {}
    awaiting = Obligation.status.in_(AWAITING_UNIT)
    silent = Obligation.status.in_([ObligationStatus.assigned.value, ObligationStatus.acknowledged.value])
    rows = await session.execute(
        select(
            Obligation.directive_id,
            func.count(),
            func.sum(case((awaiting & (Obligation.due_on < today), 1), else_=0)),
            func.sum(case((silent, 1), else_=0)),
            func.sum(case((Obligation.first_submission_late.is_(False), 1), else_=0)),
            func.sum(case((Obligation.first_submission_late.is_not(None) | (Obligation.due_on < today), 1), else_=0)),
            func.sum(case((Obligation.first_submitted_at.is_not(None), 1), else_=0)),
            func.min(Obligation.due_on),
        )
        .where(Obligation.directive_id.in_(ids))
        .group_by(Obligation.directive_id)
    )
    return {
        d: {
            "units": int(n),
            "overdue": int(overdue or 0),
            "silent": int(quiet or 0),
            "on_time": int(on_time or 0),
            "rated": int(rated or 0),
            "reported": int(reported or 0),
            "due_on": due,
        }
        for d, n, overdue, quiet, on_time, rated, reported, due in rows.all()
    }


async def first_reports(session: AsyncSession, directive_id: str) -> list[Any]:
    """When each unit of the document first reported (for the chart over time)."""
    rows = await session.scalars(
        select(Obligation.first_submitted_at).where(
            Obligation.directive_id == directive_id, Obligation.first_submitted_at.is_not(None)
        )
    )
    return list(rows.all())
