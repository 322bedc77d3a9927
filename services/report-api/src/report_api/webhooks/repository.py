"""Statements of the webhook subscriptions: the caller's own (the Office's admin: all), their deliveries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from report_api.events.models import WebhookDelivery, WebhookSubscription


async def readable(session: AsyncSession, *, owner: str, unit: str | None, everyone: bool) -> list[WebhookSubscription]:
    """Subscriptions owned by (client, unit) together, or all of them for the Office's admin."""
    statement = select(WebhookSubscription).order_by(WebhookSubscription.created_at)
    if not everyone:
        statement = statement.where(
            WebhookSubscription.owner == owner,
            WebhookSubscription.owner_unit.is_not_distinct_from(unit),
        )
    return list((await session.scalars(statement)).all())


async def subscription(session: AsyncSession, subscription_id: str) -> WebhookSubscription | None:
    return await session.get(WebhookSubscription, subscription_id)


async def deliveries(
    session: AsyncSession, subscription_id: str, *, status: str | None, limit: int
) -> list[WebhookDelivery]:
    statement = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    statement = statement.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id).limit(limit)
    return list((await session.scalars(statement)).all())


async def delivery_for_update(session: AsyncSession, delivery_id: str) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, delivery_id, with_for_update=True)
