"""The JSON envelope of an event (docs/events.md): what the feed returns and the relay POSTs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from common.outbox.models import OutboxEventMixin

__all__ = ["encode_envelope", "envelope", "rfc3339"]


def rfc3339(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(event: OutboxEventMixin) -> dict[str, Any]:
    """The JSON envelope of ``docs/events.md`` for one event.

    Args:
        event: A sequenced event row.

    Returns:
        ``{"id", "type", "occurred_at", "source", "subject", "sequence", "data"}``.
    """
    return {
        "id": event.id,
        "type": event.type,
        "occurred_at": rfc3339(event.occurred_at),
        "source": event.source,
        "subject": event.subject,
        "sequence": event.sequence,
        "data": event.data,
    }


def encode_envelope(event: OutboxEventMixin) -> bytes:
    """The exact body POSTed (and signed) for ``event``: compact UTF-8 JSON."""
    return json.dumps(envelope(event), ensure_ascii=False, separators=(",", ":")).encode()
