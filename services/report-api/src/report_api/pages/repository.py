"""Queries of the portfolio: the followed documents and, for one page of them, their figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Row, Select, case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from report_api.obligations.models import DirectiveRecord, Obligation
from report_api.obligations.states import AWAITING_UNIT, SILENT, DirectiveStatus
from report_api.pages.models import RevokedPageSession

_S = TypeVar("_S", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True)
class Filters:
    issuer: str | None = None
    doc_type: str | None = None
    status: str | None = None
    since: date | None = None


def _followed_filter(statement: _S, f: Filters) -> _S:
    # followed = asks for reports (a compliance block; dispatch turned it into obligations). An EXISTS
    # over the obligations cost 80–90 ms per query on 10,000 documents / 1M obligations; this ~8 ms.
    statement = statement.where(DirectiveRecord.compliance.is_not(None))
    if f.issuer:
        statement = statement.where(DirectiveRecord.issuer_code == f.issuer)
    if f.doc_type:
        statement = statement.where(DirectiveRecord.doc_type == f.doc_type)
    if f.status:
        statement = statement.where(DirectiveRecord.status == f.status)
    if f.since:
        statement = statement.where(DirectiveRecord.issued_on >= f.since)
    return statement


SUMMARY = (
    DirectiveRecord.id,
    DirectiveRecord.notation,
    DirectiveRecord.subject,
    DirectiveRecord.issuer_code,
    DirectiveRecord.doc_type,
    DirectiveRecord.issued_on,
    DirectiveRecord.status,
)
ORDER = (DirectiveRecord.issued_on.desc(), DirectiveRecord.notation, DirectiveRecord.id)
SummaryRow = Row[str, str | None, str, str | None, str | None, date | None, DirectiveStatus]
"""A followed document's columns of the portfolio (``SUMMARY``)."""


async def followed_page(session: AsyncSession, f: Filters, *, limit: int, offset: int) -> tuple[int, list[SummaryRow]]:
    """(how many, one page) of the followed documents, newest first, paged in SQL."""
    total = await session.scalar(_followed_filter(select(func.count()).select_from(DirectiveRecord), f))
    rows = await session.execute(_followed_filter(select(*SUMMARY), f).order_by(*ORDER).limit(limit).offset(offset))
    return int(total or 0), list(rows.all())


async def followed_texts(session: AsyncSession, f: Filters) -> list[Row[str, str | None, str]]:
    """(id, notation, subject) of every followed document, newest first, for a search in Python."""
    statement = _followed_filter(select(DirectiveRecord.id, DirectiveRecord.notation, DirectiveRecord.subject), f)
    return list((await session.execute(statement.order_by(*ORDER))).all())


async def by_ids(session: AsyncSession, ids: list[str]) -> list[SummaryRow]:
    rows = await session.execute(select(*SUMMARY).where(DirectiveRecord.id.in_(ids)))
    order = {ident: i for i, ident in enumerate(ids)}
    return sorted(rows.all(), key=lambda r: order[r.id])


async def choices(session: AsyncSession) -> tuple[list[str], list[str]]:
    """The issuers and document types the filters offer."""
    issuers = await session.scalars(
        select(DirectiveRecord.issuer_code).where(DirectiveRecord.issuer_code.is_not(None)).distinct()
    )
    types = await session.scalars(
        select(DirectiveRecord.doc_type).where(DirectiveRecord.doc_type.is_not(None)).distinct()
    )
    return sorted(str(i) for i in issuers.all()), sorted(str(t) for t in types.all())


async def figures(session: AsyncSession, ids: list[str], today: date, now: datetime) -> dict[str, dict[str, Any]]:
    """Per document: units, overdue, silent, on time and the rate's base, the earliest deadline, and the
    first reports of the last 7 days and of the 7 before (the trend)."""
    if not ids:
        return {}
    week, fortnight = now - timedelta(days=7), now - timedelta(days=14)
    first = Obligation.first_submitted_at
    awaiting = Obligation.status.in_(AWAITING_UNIT)
    silent = Obligation.status.in_(SILENT)
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
            func.sum(case(((first > week) & (first <= now), 1), else_=0)),
            func.sum(case(((first > fortnight) & (first <= week), 1), else_=0)),
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
            "this_week": int(this_week or 0),
            "last_week": int(last_week or 0),
        }
        for d, n, overdue, quiet, on_time, rated, reported, due, this_week, last_week in rows.all()
    }


async def first_reports(session: AsyncSession, directive_id: str) -> list[datetime]:
    """When each unit of the document first reported (for the chart over time)."""
    rows = await session.scalars(
        select(Obligation.first_submitted_at).where(
            Obligation.directive_id == directive_id, Obligation.first_submitted_at.is_not(None)
        )
    )
    return [moment for moment in rows.all() if moment is not None]


# --- sessions ended by signing out ------------------------------------------------------------------


async def is_revoked(session: AsyncSession, sid: str) -> bool:
    found = await session.scalar(select(RevokedPageSession.sid).where(RevokedPageSession.sid == sid))
    return found is not None


async def revoke(session: AsyncSession, sid: str, *, expires_at: datetime, now: datetime) -> None:
    """Record the session as ended (once) and forget the revocations whose cookies have expired."""
    await session.execute(delete(RevokedPageSession).where(RevokedPageSession.expires_at < now))
    if await session.get(RevokedPageSession, sid) is None:
        session.add(RevokedPageSession(sid=sid, revoked_at=now, expires_at=expires_at))
