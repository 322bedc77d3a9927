"""Rules of report-api's webhook subscriptions: who may subscribe, own-only access, replay of deliveries.

Subscribers are the feed's readers (`GET /v1/events`) that act as systems: the role `integration`
of a unit, or an admin of the Office (who also sees every subscription). A subscription receives
what its owner's unit reads in the feed (``events.repository.visible_to``, applied by the relay's
audience rule), so a webhook never carries an event its subscriber could not read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from common.outbox import DEAD, DELIVERED, PENDING, rotate_secret
from common.outbox.ownership import SubscriptionCreate, SubscriptionOwnership
from report_api.access import OfficeOnlyError, Role
from report_api.events.models import WebhookDelivery, WebhookSubscription
from report_api.settings import Settings
from report_api.webhooks import repository
from report_api.webhooks.errors import DeliveryNotFoundError


def require_subscriber(actor: Principal, settings: Settings) -> None:
    """403 unless the caller may read the event feed as a system: integration of a unit, or the Office's admin."""
    if not ((actor.has_any(Role.integration.value) and actor.unit) or _ownership(settings).is_office_admin(actor)):
        raise OfficeOnlyError(
            f"needs the role integration with a 'unit' claim, or admin of unit {settings.office_unit_code}"
        )


def _ownership(settings: Settings) -> SubscriptionOwnership:
    return SubscriptionOwnership(WebhookSubscription, settings.office_unit_code)


async def create(
    session: AsyncSession, body: SubscriptionCreate, actor: Principal, settings: Settings
) -> tuple[WebhookSubscription, str]:
    require_subscriber(actor, settings)
    subscription: WebhookSubscription
    subscription, secret = await _ownership(settings).create(session, body, actor, settings.webhooks)
    return subscription, secret


def view(subscription: WebhookSubscription, actor: Principal) -> dict[str, Any]:
    """The subscription as the caller may see it: secret prefixes only for its owner (the Office's
    admin sees who owns what, not their keys)."""
    return SubscriptionOwnership(WebhookSubscription).view(subscription, actor)


async def listing(session: AsyncSession, actor: Principal, settings: Settings) -> list[WebhookSubscription]:
    require_subscriber(actor, settings)
    return list(await _ownership(settings).listing(session, actor))


async def own(session: AsyncSession, subscription_id: str, actor: Principal, settings: Settings) -> WebhookSubscription:
    """The subscription if it is the caller's (the Office's admin: any); 404 otherwise."""
    require_subscriber(actor, settings)
    subscription: WebhookSubscription = await _ownership(settings).get(session, subscription_id, actor)
    return subscription


async def rotate(
    session: AsyncSession, subscription_id: str, actor: Principal, settings: Settings
) -> tuple[WebhookSubscription, str]:
    subscription = await own(session, subscription_id, actor, settings)
    secret = rotate_secret(subscription)
    await session.flush()
    return subscription, secret


async def deactivate(session: AsyncSession, subscription_id: str, actor: Principal, settings: Settings) -> None:
    subscription = await own(session, subscription_id, actor, settings)
    subscription.active = False
    await session.flush()


async def deliveries(
    session: AsyncSession,
    subscription_id: str,
    actor: Principal,
    settings: Settings,
    *,
    status: str | None,
    limit: int,
) -> list[WebhookDelivery]:
    """The subscription's deliveries, newest first (``status=dead``: the dead letters)."""
    subscription = await own(session, subscription_id, actor, settings)
    return await repository.deliveries(session, subscription.id, status=status, limit=limit)


async def replay(
    session: AsyncSession, subscription_id: str, delivery_id: str, actor: Principal, settings: Settings, now: datetime
) -> int:
    """Send a dead (or delivered) delivery again, its attempt log kept.

    The same requeue as ``common.outbox.Relay.replay`` (attempts from 0, due now), written in the
    request's transaction; the relay delivers it on its next round.
    """
    subscription = await own(session, subscription_id, actor, settings)
    delivery = await repository.delivery_for_update(session, delivery_id)
    if delivery is None or delivery.subscription_id != subscription.id:
        raise DeliveryNotFoundError(f"no delivery {delivery_id} of this subscription")
    if delivery.status not in (DEAD, DELIVERED):
        return 0
    delivery.status = PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.claimed_until = None
    delivery.claim_token = None
    delivery.delivered_at = None
    await session.flush()
    return 1
