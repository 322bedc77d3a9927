"""Queries of the events slice: the feed, subscriptions, received events, and what the read rule reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, ColumnElement, String, and_, exists, false, func, literal, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from common.outbox import claim_received
from common.outbox.envelope import envelope
from directive_api.directives.models import Directive, DirectiveRecipient
from directive_api.directives.states import PRE_ISSUE_STATUSES
from directive_api.events.models import OutboxEvent, ReceivedEvent, WebhookSubscription
from directive_api.orgs.models import Unit

Reader = AsyncSession | AsyncConnection
"""Where a read runs: the request's ORM session, or a read-only connection."""


def addressed_to(unit_code: str | ColumnElement[str], directive_id: Any = Directive.id) -> ColumnElement[bool]:
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


@dataclass(frozen=True, slots=True)
class EventReader:
    """Who reads events, as the rule needs it: constants for the feed's caller, or the columns of
    :func:`subscription_readers` for webhooks (one statement for every subscription)."""

    unit: str | ColumnElement[str]
    office: bool | ColumnElement[bool]
    """Holds an office role: reads its unit's documents, and the documents sent to its unit."""
    unit_officer: bool | ColumnElement[bool]
    """Reads the issued documents addressed or copied to its unit."""


def _condition(value: bool | ColumnElement[bool]) -> ColumnElement[bool]:
    # A constant folds away (and_(false(), …) is false, or_(false(), x) is x): the feed's statement
    # keeps only the branches its caller can use.
    if isinstance(value, bool):
        return true() if value else false()
    return value


def visible_to(reader: EventReader) -> ColumnElement[bool]:
    """The read rule for events, in SQL, over ``outbox_events`` outer-joined to ``directives``:

    - an event about our document: the issuing office sees every one; a unit officer of an
      addressed (or copied) unit sees, once the document is issued, the events about the whole
      document (``unit_code`` NULL) and those about its own unit's delivery, never another unit's;
    - an event about a document received from a partner (no ``directive_id``): the office roles of
      the unit it was sent to.
    """
    ours = OutboxEvent.directive_id.is_not(None)
    office, unit_officer = _condition(reader.office), _condition(reader.unit_officer)
    return or_(
        and_(office, ours, Directive.issuer_code == reader.unit),
        and_(office, OutboxEvent.directive_id.is_(None), OutboxEvent.unit_code == reader.unit),
        and_(
            unit_officer,
            ours,
            or_(OutboxEvent.unit_code.is_(None), OutboxEvent.unit_code == reader.unit),
            Directive.status.not_in([s.value for s in PRE_ISSUE_STATUSES]),
            addressed_to(reader.unit, Directive.id),
        ),
    )


def _with_documents() -> Any:
    return select(OutboxEvent).outerjoin(Directive, Directive.id == OutboxEvent.directive_id)


async def feed_page(
    session: AsyncSession, reader: EventReader, *, after: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The events ``reader`` may see after ``after``, in sequence order, and the cursor to go on from.

    Filtered in the statement, so a page is full while visible events remain. The cursor passes the
    rows the reader may not see: when the page is not full, every sequenced row up to the head read
    first was considered, so the cursor is that head (sequences are given under the relay's lock,
    in committed batches ``max + 1 …``: none at or below a committed head appears later).
    """
    after = max(0, int(after))
    limit = max(1, min(int(limit), 1000))
    head = int(await session.scalar(select(func.max(OutboxEvent.sequence))) or 0)
    rows = (
        await session.scalars(
            _with_documents()
            .where(
                OutboxEvent.sequence.is_not(None),
                OutboxEvent.sequence > after,
                OutboxEvent.sequence <= head,
                visible_to(reader),
            )
            .order_by(OutboxEvent.sequence)
            .limit(limit)
        )
    ).all()
    full = len(rows) == limit and rows[-1].sequence is not None
    cursor = rows[-1].sequence if full and rows[-1].sequence is not None else max(head, after)
    return [envelope(row) for row in rows], cursor


async def webhook_pairs(
    session: AsyncSession, event_ids: Sequence[str], readers: Sequence[tuple[str, str, bool, bool]]
) -> set[tuple[str, str]]:
    """The (event id, subscription id) pairs :func:`visible_to` allows, for subscriptions given as
    ``(subscription id, owner unit, office, unit_officer)``: one statement for the whole batch."""
    if not event_ids or not readers:
        return set()
    table = union_all(
        *(
            select(
                literal(subscription_id, String).label("subscription_id"),
                literal(unit, String).label("unit"),
                literal(office, Boolean).label("office"),
                literal(unit_officer, Boolean).label("unit_officer"),
            )
            for subscription_id, unit, office, unit_officer in readers
        )
    ).subquery("readers")
    reader = EventReader(unit=table.c.unit, office=table.c.office, unit_officer=table.c.unit_officer)
    rows = await session.execute(
        select(OutboxEvent.id, table.c.subscription_id)
        .select_from(OutboxEvent)
        .outerjoin(Directive, Directive.id == OutboxEvent.directive_id)
        .join(table, true())
        .where(OutboxEvent.id.in_(event_ids), visible_to(reader))
    )
    return {(event_id, subscription_id) for event_id, subscription_id in rows}


async def claim(session: AsyncSession, event_id: str, *, source: str) -> bool:
    """Record a received event's id; False when it was received before."""
    return await claim_received(session, ReceivedEvent, event_id, source=source)


async def subscriptions_by_id(session: AsyncSession, ids: Sequence[str]) -> Sequence[WebhookSubscription]:
    return (await session.scalars(select(WebhookSubscription).where(WebhookSubscription.id.in_(ids)))).all()
