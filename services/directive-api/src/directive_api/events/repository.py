"""Queries of the events slice: the feed, subscriptions, received events, and what the read rule reads."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from common.outbox import claim_received, feed
from directive_api.directives.models import Directive, DirectiveRecipient
from directive_api.events.models import OutboxEvent, ReceivedEvent, WebhookSubscription
from directive_api.orgs.models import Unit

Reader = AsyncSession | AsyncConnection
"""Where a read runs: the request's ORM session, or a read-only connection."""


def addressed_to(unit_code: str, directive_id: Any = Directive.id) -> ColumnElement[bool]:
    """True for a document addressed or copied to ``unit_code``: the unit itself, or its group.

    A unit unknown to the directory is addressed by nothing; group membership is the unit's
    current one (``directive_recipients`` keeps groups, not their members). The list statement of
    the directives slice and the single-document check below use this one expression.
    """
    return exists(
        select(DirectiveRecipient.directive_id)
        .join(Unit, Unit.code == unit_code)
        .where(
            DirectiveRecipient.directive_id == directive_id,
            or_(
                and_(DirectiveRecipient.kind == "unit", DirectiveRecipient.code == Unit.code),
                and_(DirectiveRecipient.kind == "group", DirectiveRecipient.code == Unit.group_code),
            ),
        )
    )


async def is_addressed_to(reader: Reader, directive_id: uuid.UUID, unit_code: str) -> bool:
    """Whether ``unit_code`` is among the addressees or information recipients of one document."""
    return bool(await reader.scalar(select(addressed_to(unit_code, directive_id))))


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


async def subscriptions_by_id(session: AsyncSession, ids: Sequence[str]) -> Sequence[WebhookSubscription]:
    return (await session.scalars(select(WebhookSubscription).where(WebhookSubscription.id.in_(ids)))).all()
