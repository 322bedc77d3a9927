"""Queries of deliveries, their status log and records files."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directive_api.deliveries.models import Delivery, DeliveryStatusLog, RecordsFile
from directive_api.directives.models import Directive
from directive_api.orgs.models import Unit


async def get_directive(session: AsyncSession, directive_id: uuid.UUID) -> Directive | None:
    return await session.get(Directive, directive_id)


async def deliveries_of(
    session: AsyncSession, directive_id: uuid.UUID, *, unit_code: str | None = None
) -> Sequence[Delivery]:
    """A document's deliveries (only ``unit_code``'s when given), addressees first, by unit code."""
    statement = select(Delivery).where(Delivery.directive_id == directive_id)
    if unit_code is not None:
        statement = statement.where(Delivery.unit_code == unit_code)
    return (await session.scalars(statement.order_by(Delivery.role, Delivery.unit_code))).all()


async def delivery_for_update(session: AsyncSession, directive_id: uuid.UUID, unit_code: str) -> Delivery | None:
    """The delivery of a document to a unit, locked: events of one obligation applied concurrently take turns."""
    statement = (
        select(Delivery).where(Delivery.directive_id == directive_id, Delivery.unit_code == unit_code).with_for_update()
    )
    return await session.scalar(statement)


def add_deliveries(session: AsyncSession, deliveries: Sequence[Delivery]) -> None:
    session.add_all(deliveries)


def log_status(session: AsyncSession, entry: DeliveryStatusLog) -> None:
    session.add(entry)


async def records_file(session: AsyncSession, *, issuer_code: str, year: int, file_notation: str) -> RecordsFile | None:
    return await session.scalar(
        select(RecordsFile).where(
            RecordsFile.issuer_code == issuer_code,
            RecordsFile.year == year,
            RecordsFile.file_notation == file_notation,
        )
    )


async def get_unit(session: AsyncSession, code: str) -> Unit | None:
    return await session.get(Unit, code)


def add_records_file(session: AsyncSession, record: RecordsFile) -> None:
    session.add(record)
