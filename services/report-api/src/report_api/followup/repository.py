"""Queries of the bulk follow-up: which obligations of a document a filter selects, the keyset list."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from report_api.obligations.lifecycle import AWAITING_UNIT, ObligationStatus
from report_api.obligations.models import DirectiveRecord, Obligation

S = ObligationStatus


def overdue_clause(today: date) -> ColumnElement[bool]:
    return and_(Obligation.status.in_(AWAITING_UNIT), Obligation.due_on < today)


def filter_clause(name: str, today: date) -> ColumnElement[bool]:
    """The units a bulk reminder's ``filter`` selects (each still owes an answer)."""
    if name == "silent":
        return Obligation.status.in_([S.assigned.value, S.acknowledged.value])
    if name == "overdue":
        return overdue_clause(today)
    assert name == "returned"
    return Obligation.status == S.returned.value


async def directive(session: AsyncSession, directive_id: str) -> DirectiveRecord | None:
    return await session.get(DirectiveRecord, directive_id)


async def selected(
    session: AsyncSession, directive_id: str, clause: ColumnElement[bool], units: Collection[str] | None
) -> list[Obligation]:
    statement = select(Obligation).where(Obligation.directive_id == directive_id, clause)
    if units is not None:
        statement = statement.where(Obligation.unit_code.in_(list(units)))
    return list((await session.scalars(statement.order_by(Obligation.unit_code).with_for_update())).all())


async def by_ids(session: AsyncSession, directive_id: str, ids: Collection[uuid.UUID]) -> list[Obligation]:
    statement = (
        select(Obligation)
        .where(Obligation.directive_id == directive_id, Obligation.id.in_(list(ids)))
        .order_by(Obligation.unit_code)
        .with_for_update()
    )
    return list((await session.scalars(statement)).all())


async def page(
    session: AsyncSession,
    directive_id: str,
    clauses: list[ColumnElement[bool]],
    *,
    after_unit: str | None,
    limit: int,
) -> list[Obligation]:
    """A page of the document's obligations in unit-code order (unique per document: the keyset)."""
    statement: Any = select(Obligation).where(Obligation.directive_id == directive_id, *clauses)
    if after_unit is not None:
        statement = statement.where(Obligation.unit_code > after_unit)
    return list((await session.scalars(statement.order_by(Obligation.unit_code).limit(limit + 1))).all())
