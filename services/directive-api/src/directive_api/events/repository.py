"""Queries of the events slice: the feed, subscriptions, received events, and what the read rule reads."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from common.outbox import claim_received, feed
from directive_api.directives.models import Directive
from directive_api.events.models import OutboxEvent, ReceivedEvent, WebhookSubscription
from directive_api.orgs.models import Unit

Reader = AsyncSession | AsyncConnection
"""Where a read runs: the request's ORM session, or a read-only connection."""


async def unit_and_group(reader: Reader, unit_code: str) -> Row[str, str | None] | None:
    """The unit's ``code`` and ``group_code``, if the directory has it."""
    statement = select(Unit.code, Unit.group_code).where(Unit.code == unit_code)
    return (await reader.execute(statement)).one_or_none()


async def directives_by_id(session: AsyncSession, ids: Collection[uuid.UUID]) -> dict[str, Directive]:
    if not ids:
        return {}
    rows = (await session.scalars(select(Directive).where(Directive.id.in_(ids)))).all()
    return {str(row.id): row for row in rows}


async def feed_page(session: AsyncSession, *, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    return await feed(session, OutboxEvent, after=after, limit=limit)


async def claim(session: AsyncSession, event_id: str, *, source: str) -> bool:
    """Record a received event's id; False when it was received before."""
    return await claim_received(session, ReceivedEvent, event_id, source=source)


async def get_subscription(session: AsyncSession, subscription_id: str) -> WebhookSubscription | None:
    return await session.get(WebhookSubscription, subscription_id)


async def subscriptions_by_id(session: AsyncSession, ids: Sequence[str]) -> Sequence[WebhookSubscription]:
    return (await session.scalars(select(WebhookSubscription).where(WebhookSubscription.id.in_(ids)))).all()


async def subscriptions(
    session: AsyncSession, *, owner: tuple[str, str | None] | None
) -> Sequence[WebhookSubscription]:
    """Every subscription, or (``owner`` = client id and unit) that owner's own, oldest first."""
    statement = select(WebhookSubscription).order_by(WebhookSubscription.created_at, WebhookSubscription.id)
    if owner is not None:
        client, unit = owner
        statement = statement.where(
            WebhookSubscription.owner == client,
            WebhookSubscription.owner_unit == unit,
            WebhookSubscription.system.is_(False),
        )
    return (await session.scalars(statement)).all()
