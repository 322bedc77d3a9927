"""Who may read a document, and so who sees which event: the one rule behind reads, the feed and webhooks.

A principal of the issuing office (any office role) reads its documents; a unit officer reads the
documents addressed or copied to its unit once they are issued (a draft addressed to it is
"not visible yet": 403, not 404); nobody else learns that the document exists (404).

Events follow it, narrowed for the events about one recipient unit (``delivery.*``): those go to the
issuing office and to that unit only, never to the document's other addressees; the events about a
document received from a partner go to the office roles of the unit it was sent to. The pull feed
applies it to the caller, webhooks to the subscription's owner with the unit and roles it subscribed
with, both in SQL (``repository.visible_to``). Subscriptions from the configuration (``system``:
report-api's inbox) receive every event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from directive_api.directives.lifecycle import OFFICE_ROLES, PRE_ISSUE_STATUSES, Role
from directive_api.directives.models import Directive
from directive_api.events import repository
from directive_api.events.errors import DirectiveNotFoundError, DirectiveNotVisibleError
from directive_api.events.models import WebhookSubscription
from directive_api.events.repository import EventReader, Reader

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


def event_reader(actor: Principal) -> EventReader | None:
    """The caller as the events' rule sees it (:func:`repository.visible_to`); None without a unit."""
    if not actor.unit:
        return None
    return EventReader(
        unit=actor.unit, office=actor.has_any(*OFFICE_ROLES), unit_officer=actor.has_any(Role.unit_officer.value)
    )


async def feed_page(
    session: AsyncSession, actor: Principal, *, after: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the events ``actor`` may see, filtered in SQL (full pages, a cursor that skips none)."""
    reader = event_reader(actor)
    if reader is None:
        return [], max(0, int(after))
    return await repository.feed_page(session, reader, after=after, limit=limit)


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
    """The relay's audience rule (:data:`common.outbox.Audience`): configured (``system``)
    subscriptions get every event, the others what their owner could see in the feed."""
    subscriptions = await repository.subscriptions_by_id(session, subscription_ids)
    event_ids = [event_id for event_id, _type, _subject in events]
    allowed = {(event_id, s.id) for s in subscriptions if s.system for event_id in event_ids}
    readers = []
    for subscription in subscriptions:
        principal = None if subscription.system else owner_principal(subscription)
        reader = event_reader(principal) if principal is not None else None
        if reader is not None:
            readers.append((subscription.id, str(reader.unit), bool(reader.office), bool(reader.unit_officer)))
    return allowed | await repository.webhook_pairs(session, event_ids, readers)
