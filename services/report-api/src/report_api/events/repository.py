"""Statements of the events slice: which of directive-api's events were received, the feed cursor,
and report-api's own feed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from common.outbox import claim_received
from common.outbox.envelope import envelope
from report_api.events.models import Channel, FeedCursor, OutboxEvent, ReceivedEvent, WebhookSubscription


async def received(session: AsyncSession, event_id: str) -> bool:
    """Whether the event was applied (or dead-lettered) already."""
    found = await session.scalar(select(ReceivedEvent.event_id).where(ReceivedEvent.event_id == event_id))
    return found is not None


async def claim(
    session: AsyncSession,
    event_id: str,
    *,
    type: str | None,  # noqa: A002 - the envelope's field name
    source: str | None,
    channel: Channel,
    at: datetime,
) -> bool:
    """Record the event as received in the transaction that applies it; False if it already was."""
    return await claim_received(
        session, ReceivedEvent, event_id, source=source, type=type, channel=channel, received_at=at
    )


async def cursor_of(session: AsyncSession, source: str) -> int:
    row = await session.get(FeedCursor, source)
    return row.cursor if row else 0


async def advance(session: AsyncSession, source: str, sequence: int, now: datetime) -> None:
    result = await session.execute(
        update(FeedCursor).where(FeedCursor.source == source).values(cursor=sequence, updated_at=now)
    )
    if not isinstance(result, CursorResult) or result.rowcount == 0:
        session.add(FeedCursor(source=source, cursor=sequence, updated_at=now))


def visible_to(reader_unit: str | InstrumentedAttribute[Any], office_unit: str) -> ColumnElement[bool]:
    """The one read rule of report-api's events, in SQL: a reader of the Office's unit sees every
    event, a reader of another unit the events of its unit's obligations; a reader without a unit
    (NULL) sees none. ``reader_unit`` is the caller's unit for the feed (decided here, so that a
    unit's page is a plain range of the ``(unit_code, sequence)`` index) and the owner's column for
    webhooks."""
    if isinstance(reader_unit, str):
        return true() if reader_unit == office_unit else OutboxEvent.unit_code == reader_unit
    return or_(reader_unit == office_unit, OutboxEvent.unit_code == reader_unit)


async def outbox_page(
    session: AsyncSession, *, reader_unit: str, office_unit: str, after: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The events ``reader_unit`` may see after ``after``, in sequence order, and the cursor to go on from.

    The cursor passes the rows the reader may not see: when the page is not full, every sequenced
    row up to the head read first was considered, so the cursor is that head; a scoped reader then
    neither reads the same filtered rows again nor misses one. (Sequences are given under the
    relay's lock in committed batches, ``max + 1 …``: none lower than a committed head appears later.)
    """
    after = max(0, int(after))
    limit = max(1, min(int(limit), 1000))
    head = int(await session.scalar(select(func.max(OutboxEvent.sequence))) or 0)
    rows = (
        await session.scalars(
            select(OutboxEvent)
            .where(
                OutboxEvent.sequence.is_not(None),
                OutboxEvent.sequence > after,
                OutboxEvent.sequence <= head,
                visible_to(reader_unit, office_unit),
            )
            .order_by(OutboxEvent.sequence)
            .limit(limit)
        )
    ).all()
    cursor = rows[-1].sequence if len(rows) == limit and rows[-1].sequence is not None else max(head, after)
    return [envelope(row) for row in rows], cursor


async def webhook_audience(
    session: AsyncSession, event_ids: Sequence[str], subscription_ids: Sequence[str], office_unit: str
) -> set[tuple[str, str]]:
    """The (event, subscription) pairs the rule allows: configured (``system``) subscriptions get
    every event, the others what their owner's unit may see."""
    if not event_ids or not subscription_ids:
        return set()
    pairs = await session.execute(
        select(OutboxEvent.id, WebhookSubscription.id).where(
            OutboxEvent.id.in_(event_ids),
            WebhookSubscription.id.in_(subscription_ids),
            or_(WebhookSubscription.system.is_(True), visible_to(WebhookSubscription.owner_unit, office_unit)),
        )
    )
    return {(event_id, subscription_id) for event_id, subscription_id in pairs}
