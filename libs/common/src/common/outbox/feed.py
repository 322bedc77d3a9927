"""The pull feed: sequenced events after a cursor."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from common.outbox.envelope import envelope
from common.outbox.models import E

__all__ = ["feed"]


async def feed(session: AsyncSession, model: type[E], *, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Events with ``sequence > after``, in sequence order, as envelopes.

    Only sequenced events are returned (see the module docstring); the cursor never skips one.

    Args:
        session: Any session.
        model: The service's outbox class.
        after: The cursor returned by the previous call (0 at the start).
        limit: Page size, clamped to 1..1000.

    Returns:
        ``(envelopes, next_cursor)``; ``next_cursor == after`` when there is nothing new.
    """
    limit = max(1, min(int(limit), 1000))
    rows = (
        await session.scalars(
            select(model)
            .where(model.sequence.is_not(None), model.sequence > max(0, int(after)))
            .order_by(model.sequence)
            .limit(limit)
        )
    ).all()
    items = [envelope(row) for row in rows]
    next_cursor = rows[-1].sequence if rows else after
    return items, int(next_cursor if next_cursor is not None else after)
