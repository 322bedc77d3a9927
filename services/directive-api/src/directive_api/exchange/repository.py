"""Rows of the exchange that must be written once even when the same package arrives concurrently."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utc_now
from directive_api.deliveries.models import ExchangePackage
from directive_api.exchange.models import ExchangeOutbox, QuarantinedPackage


async def _insert_once(session: AsyncSession, model: Any, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row is new."""
    table = model.__table__
    dialect = session.get_bind().dialect.name
    statement: Any = (postgresql if dialect == "postgresql" else sqlite).insert(table).values(**values)
    result = await session.execute(statement.on_conflict_do_nothing())
    return bool(getattr(result, "rowcount", 0) == 1)


async def record_incoming(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Keep an incoming package about a document; False if it was recorded before (same ``dedupe_key``)."""
    return await _insert_once(session, ExchangePackage, {"direction": "in", **values})


async def incoming_id(session: AsyncSession, dedupe_key: str) -> int:
    found = await session.scalar(select(ExchangePackage.id).where(ExchangePackage.dedupe_key == dedupe_key))
    assert found is not None
    return found


async def quarantine(session: AsyncSession, values: dict[str, Any]) -> QuarantinedPackage:
    """The quarantined package with these bytes, kept on first arrival."""
    await _insert_once(session, QuarantinedPackage, {"state": "pending", **values})
    record = await session.scalar(select(QuarantinedPackage).where(QuarantinedPackage.sha256 == values["sha256"]))
    assert record is not None
    return record


async def queue(session: AsyncSession, values: dict[str, Any]) -> bool:
    """An outbox row for the exchange transport, once per ``package_key``; True when new."""
    return await _insert_once(
        session, ExchangeOutbox, {"state": "pending", "attempts": 0, "next_attempt_at": utc_now(), **values}
    )
