"""The receiving side: verify an incoming webhook, parse its envelope, de-duplicate on its id."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utc_now
from common.outbox.models import R
from common.webhooks import verify

__all__ = ["ReceivedWebhook", "claim_received", "receive"]


@dataclass(frozen=True, slots=True)
class ReceivedWebhook:
    """A verified incoming event.

    Attributes:
        msg_id: The ``webhook-id`` (= the event id).
        timestamp: The ``webhook-timestamp``.
        event: The parsed envelope.
        duplicate: True if ``seen`` reported it processed: acknowledge (2xx) and do nothing.
    """

    msg_id: str
    timestamp: int
    event: dict[str, Any]
    duplicate: bool


async def receive(
    request_headers: Mapping[str, str],
    body: bytes,
    secrets: str | Sequence[str],
    seen: Callable[[str], Awaitable[bool]],
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> ReceivedWebhook:
    """Verify an incoming webhook and tell whether it was already processed.

    Pass the *raw* body. ``seen(msg_id)`` runs only after the signature verified; the
    recommended ``seen`` is ``lambda i: claim_received(session, Model, i)`` negated, i.e. a claim in
    the same transaction that applies the event (see :func:`claim_received`).

    Args:
        request_headers: The request headers (case-insensitive names).
        body: The raw request body.
        secrets: The sender's secret(s) (several during a rotation).
        seen: Async callable: True if this webhook-id was already processed.
        tolerance_seconds: Allowed clock distance (replay protection).
        now: Unix time override (tests).

    Returns:
        The verified message with its envelope and the ``duplicate`` flag.

    Raises:
        common.webhooks.WebhookVerificationError: Bad or missing signature, stale timestamp.
        ValueError: The body is not a JSON object or its ``id`` differs from the webhook-id.
    """
    verified = verify(secrets, request_headers, body, tolerance_seconds=tolerance_seconds, now=now)
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"webhook body is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise ValueError("webhook body is not a JSON object")
    if event.get("id", verified.msg_id) != verified.msg_id:
        raise ValueError("envelope id differs from webhook-id")
    duplicate = await seen(verified.msg_id)
    return ReceivedWebhook(verified.msg_id, verified.timestamp, event, duplicate)


async def claim_received(
    session: AsyncSession,
    model: type[R],
    event_id: str,
    *,
    source: str | None = None,
    type: str | None = None,  # noqa: A002 - the envelope's field name
    **columns: Any,
) -> bool:
    """Record ``event_id`` as processed in the caller's transaction; False if it already was.

    ``INSERT … ON CONFLICT DO NOTHING``: a concurrent duplicate waits for the first transaction
    and then sees the conflict, so apply the event only when this returns True, in the same
    transaction. If that transaction rolls back, the claim goes with it and a retry applies it.

    Args:
        session: The transaction that applies the event.
        model: The service's ``received_events`` class.
        event_id: The webhook-id.
        source: Optional envelope ``source``, kept for operators.
        type: Optional envelope ``type``.
        columns: Values of the service's own columns of the table (or ``received_at``).

    Returns:
        True if this is the first time (apply it), False for a duplicate.
    """
    values = {"event_id": event_id, "source": source, "type": type, "received_at": utc_now(), **columns}
    table = model.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = pg_dialect.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite_dialect.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported databases
        raise ValueError(f"unsupported database {dialect!r}: PostgreSQL and SQLite are supported")
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0) == 1)
