"""Queries of the compliance workbook: every unit with its latest report, the evidence file names."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from report_api.obligations.models import Evidence, Obligation, Submission


@dataclass(frozen=True)
class UnitLine:
    obligation_id: uuid.UUID
    unit_code: str
    unit_name: str
    group_code: str | None
    status: str
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
    review_status: str | None
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
