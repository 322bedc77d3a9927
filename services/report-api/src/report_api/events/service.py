"""directive-api's events in (webhooks with Standard Webhooks signatures, and the pull feed) and
report-api's event feed out.

Both channels in go through :func:`apply_event`, which de-duplicates on the event id in
``received_events`` (``common.outbox.claim_received``) within the transaction of the effect, so an
event delivered twice (a webhook retry, or both channels) changes nothing the second time. Webhooks
are verified and parsed by ``common.outbox.receive``, the receiver directive-api uses too.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.auth import Principal
from common.calendar import DEADLINE_HORIZON, WorkingCalendar
from common.db import transaction
from common.outbox import Audience, receive
from common.webhooks import WebhookVerificationError
from report_api.access import event_reader_unit
from report_api.carryover import service as carryover
from report_api.context import Context
from report_api.events import repository
from report_api.events.errors import EventInvalidError, WebhookNotConfiguredError, WebhookRejectedError
from report_api.events.models import DEAD_LETTER, Channel
from report_api.events.schemas import (
    CorrectedData,
    DirectiveData,
    DispatchedData,
    Envelope,
    EventEnvelope,
    EventPage,
    InboxResult,
    RecalledData,
    ReplacedData,
    ReplyData,
    StatusChangedData,
)
from report_api.obligations import repository as obligations_repository
from report_api.obligations.models import DirectiveRecord
from report_api.obligations.service import ENGINE, plan_timers, record
from report_api.obligations.states import OPEN_STATUSES, SYSTEM, DirectiveStatus, ObligationStatus
from report_api.settings import Settings
from report_api.submissions import templates

logger = logging.getLogger(__name__)


async def _reply(session: AsyncSession, data: ReplyData, now: datetime) -> None:
    """A unit's reply document arrived by edXML (ResponseFor): note it on the unit's obligation."""
    obligation = await obligations_repository.of_unit(session, data.directive.id, data.unit_code)
    if obligation is None:
        return
    code = data.reply.get("code") or data.reply.get("document_id") or ""
    subject = data.reply.get("subject") or ""
    comment = f"Văn bản trả lời {code}: {subject}".strip().rstrip(":")
    session.add(record(obligation, "reply_received", SYSTEM, comment=comment, at=now))


def _about_received(data: Mapping[str, Any]) -> bool:
    """The event is about a document that reached directive-api over the exchange (not one it sent)."""
    directive = data.get("directive")
    return isinstance(directive, dict) and directive.get("received_over_exchange") is True


REGISTERED = frozenset({"03", "04", "05", "06"})
"""Our unit's answers to the sender of a received document that mean it took the document in."""


async def _received_status(session: AsyncSession, data: StatusChangedData, now: datetime) -> None:
    """The addressed unit's clerk registered (03, or went further) a document received over the
    exchange in directive-api: its obligation is acknowledged as if its officer had done it here,
    once, and only while nobody has (a later state is left alone)."""
    if not data.directive.received_over_exchange or data.status not in REGISTERED:
        return
    obligation = await obligations_repository.of_unit(session, data.directive.id, data.unit_code)
    if obligation is None or obligation.status != ObligationStatus.assigned:
        return
    who = f" ({data.by})" if data.by else ""
    comment = f"Văn thư đã tiếp nhận văn bản đến (trạng thái {data.status}){who}"
    await ENGINE.fire(session, obligation, "acknowledge", SYSTEM, comment=comment, values={"acknowledged_at": now})
    obligations_repository.emit(session, "obligation.acknowledged", obligation, now)


async def _corrected(
    session: AsyncSession, data: CorrectedData, calendar: WorkingCalendar, settings: Settings, now: datetime
) -> None:
    """A đính chính of a document: a note on the units' obligations or, when it restates the request
    (it has its own compliance block), the obligations move to it like to a replacement."""
    original = await _upsert_directive(session, data.directive, now)
    correction = await _upsert_directive(session, data.correction, now)
    note = f"đính chính bởi {data.correction.notation or data.correction.id}"
    if data.correction.compliance is None:
        open_ones = await obligations_repository.open_of_directive(session, original.id, OPEN_STATUSES)
        session.add_all(record(o, "corrected", SYSTEM, comment=note, at=now) for o in open_ones)
        return
    if original.status != DirectiveStatus.active:
        return
    await _close_all(session, original.id, "supersede", note, now)
    ctx = carryover.CarryContext(settings=settings, calendar=calendar, now=now)
    await carryover.link(session, original, correction, "correction", ctx)


async def _upsert_directive(session: AsyncSession, data: DirectiveData, now: datetime) -> DirectiveRecord:
    directive = await obligations_repository.upsert_directive(session, data.id, data.subject, now)
    compliance = data.compliance.model_dump(mode="json") if data.compliance else None
    schema = templates.json_schema(data.compliance.report_fields) if data.compliance else None
    directive.public_id = data.public_id
    directive.doc_type = data.doc_type
    directive.notation = data.notation
    directive.subject = data.subject
    directive.issuer_code = data.issuer_code
    directive.issued_on = data.issued_on
    if compliance is not None:
        directive.compliance = compliance
        directive.report_schema = schema
    directive.updated_at = now
    await session.flush()
    return directive


def deadline(directive: DirectiveData, calendar: WorkingCalendar, fallback: date) -> date | None:
    """The reporting deadline: ``due_date``, else ``issued_on`` + n working days.

    Dates outside the horizon around the day of receipt (``fallback``) are refused: such an event
    can never become a sensible obligation, and it must be seen (dead-lettered by the sender) rather
    than retried."""
    compliance = directive.compliance
    if compliance is None:
        return None
    for name, value in (("issued_on", directive.issued_on), ("compliance.due_date", compliance.due_date)):
        if value is not None and not fallback - DEADLINE_HORIZON <= value <= fallback + DEADLINE_HORIZON:
            raise EventInvalidError(
                f"{name} {value.isoformat()} lies more than five years from {fallback.isoformat()}",
                reason="date_out_of_range",
            )
    if compliance.due_date is not None:
        due = compliance.due_date
        return due if calendar.is_working_day(due) else calendar.next_working_day(due)
    if compliance.deadline_working_days is None:
        return None
    return calendar.add_working_days(directive.issued_on or fallback, compliance.deadline_working_days)


async def _dispatched(
    session: AsyncSession, data: DispatchedData, *, calendar: WorkingCalendar, settings: Settings, now: datetime
) -> None:
    directive = await _upsert_directive(session, data.directive, now)
    if directive.status != DirectiveStatus.active:
        return  # recalled or replaced before its dispatch event arrived: nothing to answer
    due = deadline(data.directive, calendar, now.date())
    if due is None:
        return  # no compliance block: information only
    rows: list[dict[str, Any]] = [
        {
            "directive_id": directive.id,
            "unit_code": a.unit_code,
            "unit_name": a.unit_name,
            "group_code": a.group_code,
            "supervisor_code": a.supervisor_code or settings.default_supervisor_code,
            "must_act": True,
            "status": ObligationStatus.assigned,
            "version": 1,
            "due_on": due,
            "original_due_on": due,
            "created_at": now,
            "updated_at": now,
        }
        for a in data.addressees
        if a.must_act
    ]
    if not rows:
        return
    existing = await obligations_repository.unit_codes(session, directive.id)
    rows = [r for r in rows if r["unit_code"] not in existing]
    if not rows:
        return
    for row in rows:
        row["id"] = uuid.uuid4()
    # Chunks keep each statement under the drivers' bound-parameter limits (3,321 communes × 14
    # columns would exceed PostgreSQL's 32,767).
    created = await obligations_repository.insert_many(session, rows)
    for obligation in created:
        session.add(record(obligation, "assign", SYSTEM, at=now))
    await plan_timers(session, created, calendar=calendar, hour=settings.reminder_hour, timezone=settings.timezone)
    if directive.carries_from is not None:
        # the replacement (or đính chính) was announced before its dispatch arrived: carry over now
        ctx = carryover.CarryContext(settings=settings, calendar=calendar, now=now)
        await carryover.carry_into_new(session, directive, [o.unit_code for o in created], ctx)


async def _close_all(session: AsyncSession, directive_id: str, action: str, comment: str | None, now: datetime) -> None:
    for obligation in await obligations_repository.open_of_directive(session, directive_id, OPEN_STATUSES):
        await ENGINE.fire(session, obligation, action, SYSTEM, comment=comment)
        await obligations_repository.cancel_timers(session, obligation.id, now)


async def apply_event(
    session: AsyncSession,
    body: object,
    *,
    channel: Channel,
    calendar: WorkingCalendar,
    settings: Settings,
    now: datetime,
) -> bool:
    """Apply one event of directive-api; False when it was already applied (duplicate)."""
    try:
        event = Envelope.model_validate(body)
    except ValidationError as exc:
        raise EventInvalidError(
            "not an event envelope", errors=exc.errors(include_url=False, include_context=False)
        ) from None
    if not await repository.claim(session, event.id, type=event.type, source=event.source, channel=channel, at=now):
        return False
    try:
        if event.type == "directive.dispatched":
            await _dispatched(
                session, DispatchedData.model_validate(event.data), calendar=calendar, settings=settings, now=now
            )
        elif event.type == "directive.recalled":
            recalled = RecalledData.model_validate(event.data)
            directive = await _upsert_directive(session, recalled.directive, now)
            directive.status = DirectiveStatus.recalled
            await _close_all(session, directive.id, "recall", recalled.reason, now)
        elif event.type == "directive.replaced":
            replaced = ReplacedData.model_validate(event.data)
            directive = await _upsert_directive(session, replaced.directive, now)
            directive.status = DirectiveStatus.replaced
            directive.replaced_by = replaced.replaced_by.id
            successor = await _upsert_directive(session, replaced.replaced_by, now)
            note = f"thay thế bởi {replaced.replaced_by.notation or replaced.replaced_by.id}"
            await _close_all(session, directive.id, "supersede", note, now)
            ctx = carryover.CarryContext(settings=settings, calendar=calendar, now=now)
            await carryover.link(session, directive, successor, "replacement", ctx)
        elif event.type == "directive.corrected":
            await _corrected(session, CorrectedData.model_validate(event.data), calendar, settings, now)
        elif event.type == "delivery.reply_received":
            await _reply(session, ReplyData.model_validate(event.data), now)
        elif event.type == "delivery.status_changed" and _about_received(event.data):
            await _received_status(session, StatusChangedData.model_validate(event.data), now)
        # other types (issued, delivery.status_changed …) are recorded and otherwise ignored
    except ValidationError as exc:
        raise EventInvalidError(
            f"the data of {event.type} is not understood", errors=exc.errors(include_url=False, include_context=False)
        ) from None
    except OverflowError as exc:  # a date at the end of the calendar that slipped past the checks
        raise EventInvalidError(f"the dates of {event.type} cannot be computed: {exc}") from None
    return True


async def _dead_letter(session: AsyncSession, item: dict[str, Any], now: datetime) -> None:
    event_id = str(item.get("id") or "")[:200]
    if not event_id:
        return
    await repository.claim(
        session,
        event_id,
        type=str(item.get("type") or "")[:80],
        source=str(item.get("source") or "")[:80] or None,
        channel=DEAD_LETTER,
        at=now,
    )


class FeedError(RuntimeError):
    """The feed answered with an error or something that is not a page of events."""


async def sync_from_feed(
    client: httpx.AsyncClient,
    base_url: str,
    token: str,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime,
    limit: int = 100,
    source: str = "directive-api",
) -> int:
    """Read ``GET {base_url}/v1/events?after=<cursor>`` until the end; returns how many events were applied.

    Each event is applied in its own transaction together with the new cursor, so a crash loses
    nothing and repeats nothing. A page is ``{"items": [envelope …]}`` (or a bare list); the
    cursor is each item's ``sequence``.
    """
    calendar = settings.calendar()
    applied = 0
    while True:
        async with transaction(sessionmaker) as session:
            cursor = await repository.cursor_of(session, source)
        response = await client.get(
            f"{base_url.rstrip('/')}/v1/events",
            params={"after": cursor, "limit": limit},
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code != 200:
            raise FeedError(f"feed answered HTTP {response.status_code}")
        try:
            page = response.json()
        except json.JSONDecodeError:
            raise FeedError("feed answered something that is not JSON") from None
        items = page.get("items") if isinstance(page, dict) else page
        if not isinstance(items, list):
            raise FeedError("feed page has no 'items' list")
        for item in items:
            sequence = item.get("sequence") if isinstance(item, dict) else None
            if not isinstance(sequence, int) or sequence <= cursor:
                raise FeedError(f"feed item without an increasing 'sequence' after {cursor}")
            try:
                async with transaction(sessionmaker) as session:
                    if await apply_event(session, item, channel="feed", calendar=calendar, settings=settings, now=now):
                        applied += 1
                    await repository.advance(session, source, sequence, now)
            except EventInvalidError as exc:
                # A poison event must not stop the feed at its sequence forever: dead-letter it (kept
                # under the channel ``dead_letter`` so that neither channel applies it later) and go on.
                logger.error("event %s of the feed dead-lettered: %s", item.get("id"), exc.detail)
                async with transaction(sessionmaker) as session:
                    await _dead_letter(session, item, now)
                    await repository.advance(session, source, sequence, now)
            cursor = sequence
        if len(items) < limit:
            return applied


# --- directive-api's webhooks in ---------------------------------------------------------------------

MAX_EVENT_BYTES = 4 * 1024 * 1024


async def receive_webhook(session: AsyncSession, headers: Mapping[str, str], body: bytes, ctx: Context) -> InboxResult:
    """Verify, parse and apply one webhook of directive-api; a delivery seen before answers ``duplicate``."""
    settings = ctx.settings
    secrets = settings.webhook_secret_list()
    if not secrets:
        raise WebhookNotConfiguredError("set REPORT_API_WEBHOOK_SECRETS")
    if len(body) > MAX_EVENT_BYTES:
        raise EventInvalidError("the event is too large")
    now = ctx.now()

    async def seen(event_id: str) -> bool:
        return await repository.received(session, event_id)

    try:
        webhook = await receive(
            headers, body, secrets, seen, tolerance_seconds=settings.webhook_tolerance_seconds, now=now.timestamp()
        )
    except WebhookVerificationError as exc:
        raise WebhookRejectedError(str(exc), reason=exc.reason) from None
    except ValueError as exc:
        raise EventInvalidError(str(exc)) from None
    if webhook.duplicate:
        return InboxResult(id=webhook.msg_id, status="duplicate")
    try:
        # ``apply_event`` claims the id in this transaction: of two deliveries at once, one applies.
        applied = await apply_event(
            session, webhook.event, channel="webhook", calendar=ctx.calendar, settings=settings, now=now
        )
    except EventInvalidError as exc:
        # The sender dead-letters the event on this answer (a 4xx it will not retry): say why here too.
        logger.error("event %s refused: %s", webhook.msg_id, exc.detail)
        raise
    return InboxResult(id=webhook.msg_id, status="applied" if applied else "duplicate")


# --- report-api's events out -------------------------------------------------------------------------


async def events_page(session: AsyncSession, actor: Principal, ctx: Context, *, after: int, limit: int) -> EventPage:
    """report-api's events (``obligation.*``) in order, for e-office systems and directive-api: the
    Office's readers see every unit's, an integration of a unit those of its unit's obligations.

    ``next_cursor`` passes the events the caller may not see (a page can hold fewer than ``limit``
    items, or none, and still move on); it is null when nothing new was sequenced after ``after``."""
    unit = event_reader_unit(actor, ctx.settings)
    office = ctx.settings.office_unit_code
    items, cursor = await repository.outbox_page(
        session, reader_unit=unit, office_unit=office, after=after, limit=limit
    )
    return EventPage(
        items=[EventEnvelope.model_validate(e) for e in items], next_cursor=cursor if cursor > after else None
    )


def webhook_audience(settings: Settings) -> Audience:
    """The relay's audience rule (:data:`common.outbox.Audience`): a subscription receives what its
    owner's unit reads in the feed (configured subscribers, directive-api's inbox: every event)."""
    office = settings.office_unit_code

    async def audience(
        session: AsyncSession, events: Sequence[tuple[str, str, str]], subscription_ids: Sequence[str]
    ) -> set[tuple[str, str]]:
        return await repository.webhook_audience(session, [e[0] for e in events], subscription_ids, office)

    return audience
