"""Writing events (the outbox), the pull feed, webhook subscriptions and the inbox's verification."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from common.outbox import ReceivedWebhook, WebhookSettings, emit, receive, rotate_secret
from common.outbox.ownership import SubscriptionOwnership
from common.problems import ForbiddenError, NotAuthenticatedError, UnprocessableError
from common.webhooks import WebhookVerificationError
from directive_api.directives.models import Directive
from directive_api.events import repository, visibility
from directive_api.events.models import OutboxEvent, WebhookSubscription
from directive_api.events.schemas import EventPage, SubscriptionCreate, SubscriptionCreated

SOURCE = "directive-api"

FEED_ROLES = ("integration", "monitor", "admin", "auditor", "clerk")
SUBSCRIPTION_ROLES = ("integration", "admin")


def directive_summary(directive: Directive) -> dict[str, Any]:
    """The ``directive`` object of events (docs/events.md)."""
    return {
        "id": str(directive.id),
        "public_id": directive.public_id,
        "doc_type": directive.doc_type,
        "notation": directive.notation,
        "subject": directive.subject,
        "issuer_code": directive.issuer_code,
        "issued_on": directive.issued_on.isoformat() if directive.issued_on else None,
        "urgency": directive.urgency,
        "status": directive.status,
        "compliance": directive.compliance,
    }


def emit_event(session: AsyncSession, type_: str, directive: Directive, **data: Any) -> OutboxEvent:
    """Write an event about one of our documents in the caller's transaction. A ``unit_code`` in
    ``data`` makes it an event about that recipient unit (``delivery.*``): the issuing office and
    that unit see it, the document's other addressees do not (``events.visibility``)."""
    event = emit(
        session,
        OutboxEvent,
        type=type_,
        subject=str(directive.id),
        data={"directive": directive_summary(directive), **data},
        source=SOURCE,
    )
    event.directive_id = directive.id
    unit_code = data.get("unit_code")
    event.unit_code = str(unit_code) if unit_code is not None else None
    return event


def emit_received_event(
    session: AsyncSession,
    type_: str,
    received_id: uuid.UUID,
    *,
    unit_code: str,
    data: Mapping[str, Any],
    occurred_at: datetime,
) -> OutboxEvent:
    """Write an event about a document a partner sent to ``unit_code``: only that unit's office
    roles (and the configured subscribers) see it."""
    event = emit(
        session, OutboxEvent, type=type_, subject=str(received_id), data=data, source=SOURCE, occurred_at=occurred_at
    )
    event.unit_code = unit_code
    return event


async def list_events(session: AsyncSession, actor: Principal, *, after: int, limit: int) -> EventPage:
    """A page of the feed: the events ``actor`` may see (``events.visibility``), selected in SQL,
    so a page is full while visible events remain and the cursor skips or repeats none."""
    items, cursor = await visibility.feed_page(session, actor, after=after, limit=limit)
    return EventPage(items=items, next_cursor=cursor)


def _ownership(office_unit: str) -> SubscriptionOwnership:
    # A subscription belongs to a unit: rows made before owners had one belong to the Office's admin only.
    return SubscriptionOwnership(WebhookSubscription, office_unit, unit_required=True)


async def subscribe(
    session: AsyncSession, body: SubscriptionCreate, actor: Principal, *, settings: WebhookSettings, office_unit: str
) -> SubscriptionCreated:
    """A subscription owned by the caller (its client id, unit and roles), with its first secret."""
    if not actor.unit:
        raise ForbiddenError("a subscription belongs to a unit: the token names none")
    ownership = _ownership(office_unit)
    subscription, secret = await ownership.create(session, body, actor, settings)
    return SubscriptionCreated(subscription=ownership.view(subscription, actor), secret=secret)


async def list_subscriptions(session: AsyncSession, actor: Principal, *, office_unit: str) -> list[dict[str, Any]]:
    """The caller's own subscriptions (secrets masked); the Office's admin sees every one."""
    ownership = _ownership(office_unit)
    return [ownership.view(s, actor) for s in await ownership.listing(session, actor)]


async def rotate_subscription_secret(
    session: AsyncSession, subscription_id: str, actor: Principal, *, office_unit: str
) -> SubscriptionCreated:
    """A new secret, for the owner only; the previous one keeps signing until the next rotation."""
    ownership = _ownership(office_unit)
    subscription = await ownership.get(session, subscription_id, actor)
    if not ownership.is_owner(subscription, actor):
        raise ForbiddenError(
            "only the subscription's owner may rotate its secret (the new secret is shown to the owner only)"
            + ("; a configured subscriber's secret is set in the configuration" if subscription.system else "")
        )
    secret = rotate_secret(subscription)
    await session.flush()
    return SubscriptionCreated(subscription=ownership.view(subscription, actor), secret=secret)


async def unsubscribe(session: AsyncSession, subscription_id: str, actor: Principal, *, office_unit: str) -> None:
    """Deactivate a subscription (its log is kept): its owner or the Office's admin."""
    subscription = await _ownership(office_unit).get(session, subscription_id, actor)
    if subscription.system:
        raise ForbiddenError("a configured subscriber is removed from the configuration, not through the API")
    subscription.active = False
    await session.flush()


async def receive_event(
    session: AsyncSession, headers: Mapping[str, str], body: bytes, secrets: list[str], *, source: str
) -> ReceivedWebhook:
    """Verify a signed incoming event (Standard Webhooks) and record its id once per ``source``."""
    if not secrets:
        raise NotAuthenticatedError("this service accepts no incoming events (no inbox secret configured)")

    async def seen(event_id: str) -> bool:
        return not await repository.claim(session, event_id, source=source)

    try:
        return await receive(headers, body, secrets, seen)
    except WebhookVerificationError as exc:
        raise NotAuthenticatedError(f"invalid webhook signature: {exc}") from None
    except ValueError as exc:
        raise UnprocessableError(str(exc)) from None
