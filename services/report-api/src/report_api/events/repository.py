"""Statements of the events slice: which of directive-api's events were received, the feed cursor,
and report-api's own feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from common.outbox import claim_received, feed
from report_api.events.models import Channel, FeedCursor, OutboxEvent, ReceivedEvent


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


async def outbox_page(session: AsyncSession, *, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """report-api's events after ``after`` in sequence order, and the cursor of the page."""
    return await feed(session, OutboxEvent, after=after, limit=limit)
