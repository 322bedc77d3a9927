"""Statements of the compliance view: SQL aggregates and column selects of a document's obligations (no
ORM object per unit), every unit with its latest report and the evidence file names for the workbook."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from report_api.obligations.models import DirectiveRecord, Obligation
from report_api.obligations.repository import overdue_clause
from report_api.obligations.states import ObligationStatus
from report_api.submissions.models import Evidence, ReviewStatus, Submission


async def directive(session: AsyncSession, directive_id: str) -> DirectiveRecord | None:
    return await session.get(DirectiveRecord, directive_id)


async def status_counts(
    session: AsyncSession, directive_id: str
) -> list[Row[str | None, ObligationStatus, bool | None, date, int]]:
    """One row per (group, status, first report late?, deadline) with its count: a handful of rows."""
    rows = await session.execute(
        select(
            Obligation.group_code,
            Obligation.status,
            Obligation.first_submission_late,
            Obligation.due_on,
            func.count(),
        )
        .where(Obligation.directive_id == directive_id)
        .group_by(Obligation.group_code, Obligation.status, Obligation.first_submission_late, Obligation.due_on)
    )
    return list(rows.all())


async def accepted_reports(session: AsyncSession, directive_id: str) -> dict[uuid.UUID, dict[str, Any]]:
    """Obligation id → the data of its accepted report."""
    rows = await session.execute(
        select(Submission.obligation_id, Submission.data)
        .join(Obligation, Obligation.id == Submission.obligation_id)
        # Only an accept makes a report accepted, and it moves the obligation to the terminal
        # ``accepted``: the status filter uses (directive_id, status) instead of scanning reports.
        .where(
            Obligation.directive_id == directive_id,
            Obligation.status == ObligationStatus.accepted,
            Submission.review_status == ReviewStatus.accepted,
        )
    )
    return {oid: data for oid, data in rows.all()}  # noqa: C416 - rows are not pairs to the type checker


async def overdue_units(
    session: AsyncSession, directive_id: str, today: date
) -> list[Row[uuid.UUID, str, str, str | None, ObligationStatus, date, int, int, int]]:
    """The overdue units of the document with their reminder counters, by unit code."""
    rows = await session.execute(
        select(
            Obligation.id,
            Obligation.unit_code,
            Obligation.unit_name,
            Obligation.group_code,
            Obligation.status,
            Obligation.due_on,
            Obligation.nhac_nho_count,
            Obligation.phe_binh_count,
            Obligation.kiem_diem_count,
        )
        .where(Obligation.directive_id == directive_id, overdue_clause(today))
        .order_by(Obligation.unit_code)
    )
    return list(rows.all())


async def unit_rows(
    session: AsyncSession, directive_id: str, *, today: date, overdue_only: bool, limit: int | None, offset: int
) -> list[Row[uuid.UUID, str, str, str | None, ObligationStatus, date, bool | None]]:
    """A page of the document's units (all, or the overdue ones) by unit code."""
    statement = (
        select(
            Obligation.id,
            Obligation.unit_code,
            Obligation.unit_name,
            Obligation.group_code,
            Obligation.status,
            Obligation.due_on,
            Obligation.first_submission_late,
        )
        .where(Obligation.directive_id == directive_id)
        .order_by(Obligation.unit_code)
    )
    if overdue_only:
        statement = statement.where(overdue_clause(today))
    if offset:
        statement = statement.offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    return list((await session.execute(statement)).all())


@dataclass(frozen=True)
class UnitLine:
    obligation_id: uuid.UUID
    unit_code: str
    unit_name: str
    group_code: str | None
    status: ObligationStatus
    original_due_on: date
    due_on: date
    acknowledged_at: datetime | None
    first_submitted_at: datetime | None
    first_submission_late: bool | None
    submission_count: int
    accepted_at: datetime | None
    nhac_nho: int
    phe_binh: int
    kiem_diem: int
    report: dict[str, Any] | None
    review_status: ReviewStatus | None
    reviewed_at: datetime | None


async def unit_lines(session: AsyncSession, directive_id: str) -> list[UnitLine]:
    """Every obligation of the document with its latest report version (columns only, no ORM objects)."""
    latest = and_(Submission.obligation_id == Obligation.id, Submission.version == Obligation.submission_count)
    rows = await session.execute(
        select(
            Obligation.id,
            Obligation.unit_code,
            Obligation.unit_name,
            Obligation.group_code,
            Obligation.status,
            Obligation.original_due_on,
            Obligation.due_on,
            Obligation.acknowledged_at,
            Obligation.first_submitted_at,
            Obligation.first_submission_late,
            Obligation.submission_count,
            Obligation.accepted_at,
            Obligation.nhac_nho_count,
            Obligation.phe_binh_count,
            Obligation.kiem_diem_count,
            Submission.data,
            Submission.review_status,
            Submission.reviewed_at,
        )
        .outerjoin(Submission, latest)
        .where(Obligation.directive_id == directive_id)
        .order_by(Obligation.unit_code)
    )
    return [UnitLine(*tuple(row)) for row in rows.all()]


async def evidence_names(session: AsyncSession, directive_id: str) -> dict[str, str]:
    """Evidence id → file name, for the document's obligations."""
    rows = await session.execute(
        select(Evidence.id, Evidence.filename)
        .join(Obligation, Obligation.id == Evidence.obligation_id)
        .where(Obligation.directive_id == directive_id)
    )
    names: dict[str, str] = defaultdict(str)
    for ident, filename in rows.all():
        names[str(ident)] = filename
    return dict(names)
