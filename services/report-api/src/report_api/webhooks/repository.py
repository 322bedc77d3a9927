"""Statements of the webhook deliveries (subscriptions themselves: ``common.outbox.ownership``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from report_api.events.models import WebhookDelivery


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
