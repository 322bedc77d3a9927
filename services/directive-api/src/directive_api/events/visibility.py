"""Who may read a document, and so who sees which event: the one rule behind reads, the feed and webhooks.

A principal of the issuing office (any office role) reads its documents; a unit officer reads the
documents addressed or copied to its unit once they are issued (a draft addressed to it is
"not visible yet": 403, not 404); nobody else learns that the document exists (404).

The pull feed applies it to the caller; webhooks to the subscription's owner, with the unit and
roles it subscribed with. Subscriptions from the configuration (``system``: report-api's inbox)
receive every event.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from directive_api.directives.lifecycle import OFFICE_ROLES, PRE_ISSUE_STATUSES, Role
from directive_api.directives.models import Directive
from directive_api.events import repository
from directive_api.events.errors import DirectiveNotFoundError, DirectiveNotVisibleError
from directive_api.events.models import WebhookSubscription
from directive_api.events.repository import Reader

DirectiveRecord = Directive | Row[Any]
"""A document as an ORM object, or as a Core row of the ``directives`` table (same attribute names)."""


async def is_addressed_to(reader: Reader, directive: DirectiveRecord, unit_code: str) -> bool:
    """Whether ``unit_code`` is among the addressees (directly or through its group) or the
    information recipients: the expression the document list filters with (``repository.addressed_to``)."""
    return await repository.is_addressed_to(reader, directive.id, unit_code)


async def ensure_readable(reader: Reader, directive: DirectiveRecord, actor: Principal) -> None:
    """Raise :class:`DirectiveNotFoundError` (or, for a draft addressed to the caller's unit,
    :class:`DirectiveNotVisibleError`) unless ``actor`` may read the document."""
    if actor.has_any(*OFFICE_ROLES) and actor.unit == directive.issuer_code:
        return
    if actor.has_any(Role.unit_officer.value) and actor.unit and await is_addressed_to(reader, directive, actor.unit):
        if directive.status in PRE_ISSUE_STATUSES:
            raise DirectiveNotVisibleError("drafts are visible only to the issuing office")
        return
    raise DirectiveNotFoundError(f"no document {directive.id}")


async def can_read(reader: Reader, directive: DirectiveRecord, actor: Principal) -> bool:
    """Whether ``actor`` may read the document."""
    try:
        await ensure_readable(reader, directive, actor)
    except (DirectiveNotFoundError, DirectiveNotVisibleError):
        return False
    return True


def _directive_id(subject: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(subject))
    except ValueError:
        return None


async def _documents(session: AsyncSession, subjects: Collection[Any]) -> dict[str, Directive]:
    return await repository.directives_by_id(session, {i for i in map(_directive_id, subjects) if i is not None})


async def _readable(session: AsyncSession, documents: dict[str, Directive], principal: Principal) -> set[str]:
    return {key for key, directive in documents.items() if await can_read(session, directive, principal)}


async def visible_items(session: AsyncSession, items: list[dict[str, Any]], actor: Principal) -> list[dict[str, Any]]:
    """The feed's envelopes ``actor`` may see (an event's ``subject`` is its document's id)."""
    documents = await _documents(session, [item.get("subject") for item in items])
    readable = await _readable(session, documents, actor)
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
    subscriptions = await repository.subscriptions_by_id(session, subscription_ids)
    documents = await _documents(session, [subject for _id, _type, subject in events])
    allowed: set[tuple[str, str]] = set()
    for subscription in subscriptions:
        if subscription.system:
            allowed.update((event_id, subscription.id) for event_id, _type, _subject in events)
            continue
        principal = owner_principal(subscription)
        if principal is None:
            continue
        readable = await _readable(session, documents, principal)
        allowed.update(
            (event_id, subscription.id)
            for event_id, _type, subject in events
            if str(_directive_id(subject)) in readable
        )
    return allowed
