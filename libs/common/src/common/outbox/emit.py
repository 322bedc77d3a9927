"""The write side: an event is a row added to the business transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utc_now
from common.outbox.ids import new_id
from common.outbox.models import E
from common.outbox.wake import PENDING_CHANNELS, wake_channel

__all__ = ["emit"]


def emit(
    session: AsyncSession,
    model: type[E],
    *,
    type: str,  # noqa: A002 - the envelope's field name
    subject: str,
    data: Mapping[str, Any],
    source: str,
    occurred_at: datetime | None = None,
) -> E:
    """Add an event to the caller's session: it commits or rolls back with the business change.

    Args:
        session: The session of the business transaction.
        model: The service's outbox class (a subclass of :class:`OutboxEventMixin`).
        type: Event type, e.g. ``directive.dispatched``.
        subject: Id of the resource the event is about.
        data: JSON-serialisable payload (checked now, so a bad payload fails the business
            transaction rather than the relay).
        source: The emitting service, e.g. ``directive-api``.
        occurred_at: When it happened; now when omitted.

    Returns:
        The new (pending, unsequenced) event row.

    Raises:
        TypeError: If ``data`` is not JSON-serialisable.
    """
    payload = json.loads(json.dumps(dict(data), ensure_ascii=False, allow_nan=False))
    event = model()
    event.id = new_id("evt")
    event.type = type
    event.subject = subject
    event.source = source
    event.data = payload
    event.occurred_at = occurred_at or utc_now()
    event.sequence = None
    session.add(event)
    session.sync_session.info.setdefault(PENDING_CHANNELS, set()).add(wake_channel(model))
    return event
