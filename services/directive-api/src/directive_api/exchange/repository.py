"""Rows of the exchange that must be written once even when the same package arrives concurrently."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utc_now
from directive_api.deliveries.models import ExchangePackage
from directive_api.exchange.models import ExchangeOutbox, QuarantinedPackage, ReceivedDocument, ReplyLink


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


async def receive_once(session: AsyncSession, values: dict[str, Any]) -> tuple[bool, ReceivedDocument]:
    """The received document with this sender, DocumentId and business type, kept on first arrival;
    True when it is new."""
    fresh = await _insert_once(session, ReceivedDocument, values)
    record = await session.scalar(
        select(ReceivedDocument)
        .where(
            ReceivedDocument.sender_organ_id == values["sender_organ_id"],
            ReceivedDocument.document_id == values["document_id"],
            ReceivedDocument.business_doc_type == values["business_doc_type"],
        )
        .with_for_update()
    )
    assert record is not None
    return fresh, record


async def received_for_update(session: AsyncSession, received_id: uuid.UUID, unit_code: str) -> ReceivedDocument | None:
    """The received document addressed to ``unit_code``, locked (its answers are decided in turn)."""
    statement = select(ReceivedDocument).where(
        ReceivedDocument.id == received_id, ReceivedDocument.unit_code == unit_code
    )
    return await session.scalar(statement.with_for_update())


async def received_targets(
    session: AsyncSession,
    sender_organ_id: str,
    document_ids: list[str],
    unit_code: str | None,
    *,
    exclude: uuid.UUID | None,
) -> list[ReceivedDocument]:
    """The documents (new or replacing, not change packages) this sender sent us with these DocumentIds
    (to ``unit_code`` when given), locked: the change a later package asks for is labelled on them."""
    if not document_ids:
        return []
    statement = select(ReceivedDocument).where(
        ReceivedDocument.sender_organ_id == sender_organ_id,
        ReceivedDocument.document_id.in_(document_ids),
        ReceivedDocument.business_doc_type.in_((0, 3)),
    )
    if unit_code is not None:
        statement = statement.where(ReceivedDocument.unit_code == unit_code)
    if exclude is not None:
        statement = statement.where(ReceivedDocument.id != exclude)
    return list((await session.scalars(statement.order_by(ReceivedDocument.received_at).with_for_update())).all())


async def received_documents(session: AsyncSession, unit_codes: list[str] | None) -> list[ReceivedDocument]:
    """Received documents, newest first (of these units when given)."""
    statement = select(ReceivedDocument).order_by(ReceivedDocument.received_at.desc()).limit(500)
    if unit_codes is not None:
        statement = statement.where(ReceivedDocument.unit_code.in_(unit_codes))
    return list((await session.scalars(statement)).all())


async def reply_link(session: AsyncSession, directive_id: uuid.UUID) -> ReceivedDocument | None:
    """The received document our document answers, if it answers one."""
    statement = select(ReceivedDocument).join(ReplyLink, ReplyLink.received_document_id == ReceivedDocument.id)
    return await session.scalar(statement.where(ReplyLink.directive_id == directive_id))
