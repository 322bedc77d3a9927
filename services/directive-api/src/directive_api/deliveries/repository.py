"""Queries of deliveries, their status log and records files."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directive_api.deliveries.models import Delivery, DeliveryStatusLog, ExchangePackage, RecordsFile
from directive_api.directives.models import Directive
from directive_api.events.models import OutboxEvent
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


async def linked_replies(
    session: AsyncSession, directive_id: uuid.UUID, package_ids: list[int]
) -> dict[int, tuple[ExchangePackage, dict[str, Any]]]:
    """The reply packages linked to a document's deliveries, each with the ``reply`` its
    ``delivery.reply_received`` event announced (code, subject, DocumentId), by package id."""
    if not package_ids:
        return {}
    packages = await session.scalars(select(ExchangePackage).where(ExchangePackage.id.in_(package_ids)))
    announced: dict[int, dict[str, Any]] = {}
    events = await session.scalars(
        select(OutboxEvent.data).where(
            OutboxEvent.type == "delivery.reply_received", OutboxEvent.subject == str(directive_id)
        )
    )
    for data in events:
        reply = (data or {}).get("reply") or {}
        if isinstance(reply.get("package_id"), int):
            announced[reply["package_id"]] = reply
    return {package.id: (package, announced.get(package.id, {})) for package in packages}


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
