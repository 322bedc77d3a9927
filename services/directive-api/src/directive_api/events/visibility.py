"""Who sees which event: exactly the principals that could read the event's document.

One rule for the pull feed (the caller) and for webhooks (the subscription's owner, with the unit
and roles it subscribed with): :func:`directive_api.directives.service.can_read`. Subscriptions
from the configuration (``system``: report-api's inbox) receive every event.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from directive_api.directives import service as directives
from directive_api.directives.models import Directive
from directive_api.dispatch.models import WebhookSubscription


def _directive_id(subject: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(subject))
    except ValueError:
        return None


async def _documents(session: AsyncSession, subjects: Collection[Any]) -> dict[str, Directive]:
    ids = {i for i in (_directive_id(s) for s in subjects) if i is not None}
    if not ids:
        return {}
    rows = (await session.scalars(select(Directive).where(Directive.id.in_(ids)))).all()
    return {str(row.id): row for row in rows}


async def _readable(
    session: AsyncSession, documents: dict[str, Directive], principal: Principal, cache: dict[str, bool]
) -> set[str]:
    readable = set()
    for key, directive in documents.items():
        if key not in cache:
            cache[key] = await directives.can_read(session, directive, principal)
        if cache[key]:
            readable.add(key)
    return readable


async def visible_items(session: AsyncSession, items: list[dict[str, Any]], actor: Principal) -> list[dict[str, Any]]:
    """The feed's envelopes ``actor`` may see (an event's ``subject`` is its document's id)."""
    documents = await _documents(session, [item.get("subject") for item in items])
    readable = await _readable(session, documents, actor, {})
    return [item for item in items if str(_directive_id(item.get("subject"))) in readable]


def owner_principal(subscription: WebhookSubscription) -> Principal | None:
    """The principal a subscription acts for; None for a row without an owner unit (made before
    owners were recorded): it receives nothing until its owner subscribes again."""
    if subscription.owner_unit is None:
        return None
    return Principal(
        subject=subscription.owner,
        name=subscription.owner,
        roles=frozenset(subscription.owner_roles or ()),
        unit=subscription.owner_unit,
    )


async def webhook_audience(
    session: AsyncSession, events: Sequence[tuple[str, str, str]], subscription_ids: Sequence[str]
) -> set[tuple[str, str]]:
    """The relay's audience rule (:data:`common.outbox.Audience`)."""
    subscriptions = (
        await session.scalars(select(WebhookSubscription).where(WebhookSubscription.id.in_(subscription_ids)))
    ).all()
    documents = await _documents(session, [subject for _id, _type, subject in events])
    allowed: set[tuple[str, str]] = set()
    for subscription in subscriptions:
        if subscription.system:
            allowed.update((event_id, subscription.id) for event_id, _type, _subject in events)
            continue
        principal = owner_principal(subscription)
        if principal is None:
            continue
        readable = await _readable(session, documents, principal, {})
        allowed.update(
            (event_id, subscription.id)
            for event_id, _type, subject in events
            if str(_directive_id(subject)) in readable
        )
    return allowed
