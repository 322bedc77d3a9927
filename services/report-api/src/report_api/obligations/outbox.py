"""The service's outbox: events written in the transaction of the change that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common import outbox
from report_api.obligations.models import Obligation, OutboxEvent

SOURCE = "report-api"


def emit(session: AsyncSession, event_type: str, obligation: Obligation, at: datetime, **extra: Any) -> OutboxEvent:
    """Add an ``obligation.*`` event to the outbox (committed with the session's transaction)."""
    data: dict[str, Any] = {
        "directive_id": obligation.directive_id,
        "unit_code": obligation.unit_code,
        "obligation_id": str(obligation.id),
        "at": at.isoformat().replace("+00:00", "Z"),
        **extra,
    }
    return outbox.emit(
        session, OutboxEvent, type=event_type, subject=str(obligation.id), data=data, source=SOURCE, occurred_at=at
    )
