"""Statements of the bulk follow-up: which obligations of a document a filter selects, the keyset list."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from report_api.followup.schemas import ReminderFilter
from report_api.obligations.models import DirectiveRecord, Obligation
from report_api.obligations.repository import overdue_clause
from report_api.obligations.states import SILENT, ObligationStatus


def filter_clause(name: ReminderFilter, today: date) -> ColumnElement[bool]:
    """The units a bulk reminder's ``filter`` selects (each still owes an answer)."""
    if name == "silent":
        return Obligation.status.in_(SILENT)
    if name == "overdue":
        return overdue_clause(today)
    return Obligation.status == ObligationStatus.returned


async def directive(session: AsyncSession, directive_id: str) -> DirectiveRecord | None:
    return await session.get(DirectiveRecord, directive_id)


async def selected(
    session: AsyncSession, directive_id: str, name: ReminderFilter, today: date, units: Collection[str] | None
) -> list[Obligation]:
    """The document's obligations the filter selects (among ``units``), locked, by unit code."""
    statement = select(Obligation).where(Obligation.directive_id == directive_id, filter_clause(name, today))
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


@dataclass(frozen=True)
class ListFilters:
    """The Office's filters of a document's unit list (all optional, combined with AND)."""

    statuses: list[ObligationStatus] | None = None
    filter_name: ReminderFilter | None = None
    overdue: bool | None = None
    group: str | None = None
    units: list[str] | None = None


async def page(
    session: AsyncSession, directive_id: str, f: ListFilters, *, today: date, after_unit: str | None, limit: int
) -> list[Obligation]:
    """A page (``limit`` + 1 rows) of the document's obligations in unit-code order (unique per document)."""
    statement = select(Obligation).where(Obligation.directive_id == directive_id)
    if f.statuses:
        statement = statement.where(Obligation.status.in_(f.statuses))
    if f.filter_name is not None:
        statement = statement.where(filter_clause(f.filter_name, today))
    if f.overdue is True:
        statement = statement.where(overdue_clause(today))
    elif f.overdue is False:
        statement = statement.where(not_(overdue_clause(today)))
    if f.group is not None:
        statement = statement.where(Obligation.group_code == f.group)
    if f.units:
        statement = statement.where(Obligation.unit_code.in_(f.units))
    if after_unit is not None:
        statement = statement.where(Obligation.unit_code > after_unit)
    return list((await session.scalars(statement.order_by(Obligation.unit_code).limit(limit + 1))).all())
