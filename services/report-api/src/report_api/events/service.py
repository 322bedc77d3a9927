"""directive-api's events in: webhooks (Standard Webhooks signatures) and the pull feed.

Both channels go through :func:`apply_event`, which de-duplicates on the event id in
``received_events`` within the transaction of the effect, so an event delivered twice (a webhook
retry, or both channels) changes nothing the second time.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import date, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.calendar import DEADLINE_HORIZON, WorkingCalendar
from common.db import transaction
from report_api.carryover import service as carryover
from report_api.obligations import templates
from report_api.obligations.errors import EventInvalidError
from report_api.obligations.lifecycle import OPEN_STATUSES, SYSTEM
from report_api.obligations.models import DirectiveRecord, FeedCursor, Obligation, ReceivedEvent
from report_api.obligations.reminders import cancel_timers, plan_timers
from report_api.obligations.service import ENGINE, record
from report_api.settings import Settings

logger = logging.getLogger(__name__)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Envelope(_Lenient):
    id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=80)
    source: str | None = None
    subject: str | None = None
    sequence: int | None = None
    occurred_at: datetime | None = None
    data: dict[str, Any]


class ComplianceData(_Lenient):
    deadline_working_days: int | None = Field(default=None, ge=0, le=365)
    due_date: date | None = None
    instructions: str | None = None
    report_fields: list[templates.ReportField] = Field(default_factory=list)


class DirectiveData(_Lenient):
    id: str = Field(min_length=1, max_length=64)
    public_id: str | None = None
    doc_type: str | None = None
    notation: str | None = None
    subject: str = Field(min_length=1, max_length=500)
    issuer_code: str | None = None
    issued_on: date | None = None
    compliance: ComplianceData | None = None


class AddresseeData(_Lenient):
    unit_code: str = Field(min_length=1, max_length=40)
    unit_name: str = Field(min_length=1, max_length=300)
    group_code: str | None = None
    must_act: bool = True
    supervisor_code: str | None = Field(default=None, max_length=40)
    """Optional: the unit's supervising body (Kiểm điểm goes there); the settings' default otherwise."""


class DispatchedData(_Lenient):
    directive: DirectiveData
    addressees: list[AddresseeData] = Field(default_factory=list, max_length=10_000)


class RecalledData(_Lenient):
    directive: DirectiveData
    reason: str | None = None


class ReplacedData(_Lenient):
    directive: DirectiveData
    replaced_by: DirectiveData


class CorrectedData(_Lenient):
    directive: DirectiveData
    """The original document."""
    correction: DirectiveData
    """The đính chính công văn."""


CHUNK = 1000


class ReplyData(_Lenient):
    directive: DirectiveData
    unit_code: str
    reply: dict[str, Any]


async def _reply(session: AsyncSession, data: ReplyData, now: datetime) -> None:
    """A unit's reply document arrived by edXML (ResponseFor): note it on the unit's obligation."""
    obligation = await session.scalar(
        select(Obligation).where(Obligation.directive_id == data.directive.id, Obligation.unit_code == data.unit_code)
    )
    if obligation is None:
        return
    code = data.reply.get("code") or data.reply.get("document_id") or ""
    subject = data.reply.get("subject") or ""
    comment = f"Văn bản trả lời {code}: {subject}".strip().rstrip(":")
    session.add(record(obligation, "reply_received", SYSTEM, comment=comment, at=now))


async def _corrected(
    session: AsyncSession, data: CorrectedData, calendar: WorkingCalendar, settings: Settings, now: datetime
) -> None:
    """A đính chính of a document: a note on the units' obligations or, when it restates the request
    (it has its own compliance block), the obligations move to it like to a replacement."""
    original = await _upsert_directive(session, data.directive, now)
    correction = await _upsert_directive(session, data.correction, now)
    note = f"đính chính bởi {data.correction.notation or data.correction.id}"
    if data.correction.compliance is None:
        open_ones = (
            await session.scalars(
                select(Obligation).where(Obligation.directive_id == original.id, Obligation.status.in_(OPEN_STATUSES))
            )
        ).all()
        session.add_all(record(o, "corrected", SYSTEM, comment=note, at=now) for o in open_ones)
        return
    if original.status != "active":
        return
    await _close_all(session, original.id, "supersede", note, now)
    ctx = carryover.CarryContext(settings=settings, calendar=calendar, now=now)
    await carryover.link(session, original, correction, "correction", ctx)


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def _upsert_directive(session: AsyncSession, data: DirectiveData, now: datetime) -> DirectiveRecord:
    # Events of a document not seen yet can arrive at once (the relay sends a batch concurrently):
    # the row is created with ON CONFLICT DO NOTHING, then locked, so the later ones wait and update it.
    await session.execute(
        _insert(session)(DirectiveRecord)
        .values(id=data.id, subject=data.subject, status="active", created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    directive = await session.get(DirectiveRecord, data.id, with_for_update=True, populate_existing=True)
    assert directive is not None  # inserted above, or by a transaction that committed before our lock
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
    if directive.status != "active":
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
            "status": "assigned",
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
    existing = set(
        (await session.scalars(select(Obligation.unit_code).where(Obligation.directive_id == directive.id))).all()
    )
    rows = [r for r in rows if r["unit_code"] not in existing]
    if not rows:
        return
    for row in rows:
        row["id"] = uuid.uuid4()
    insert = _insert(session)
    created: list[Obligation] = []
    # Chunks keep each statement under the drivers' bound-parameter limits (3,321 communes × 14
    # columns would exceed PostgreSQL's 32,767).
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        # executemany form: a multi-row VALUES of 1,000 rows × 14 columns took SQLAlchemy ≈ 1 s to compile.
        await session.execute(insert(Obligation).on_conflict_do_nothing(), chunk)
        ids = [r["id"] for r in chunk]
        created.extend((await session.scalars(select(Obligation).where(Obligation.id.in_(ids)))).all())
    for obligation in created:
        session.add(record(obligation, "assign", SYSTEM, at=now))
    await plan_timers(session, created, calendar=calendar, hour=settings.reminder_hour, timezone=settings.timezone)
    if directive.carries_from is not None:
        # the replacement (or đính chính) was announced before its dispatch arrived: carry over now
        ctx = carryover.CarryContext(settings=settings, calendar=calendar, now=now)
        await carryover.carry_into_new(session, directive, [o.unit_code for o in created], ctx)


async def _close_all(session: AsyncSession, directive_id: str, action: str, comment: str | None, now: datetime) -> None:
    obligations = (
        await session.scalars(
            select(Obligation).where(Obligation.directive_id == directive_id, Obligation.status.in_(OPEN_STATUSES))
        )
    ).all()
    for obligation in obligations:
        await ENGINE.fire(session, obligation, action, SYSTEM, comment=comment)
        await cancel_timers(session, obligation.id, now)


async def apply_event(
    session: AsyncSession,
    body: Any,
    *,
    channel: str,
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
    insert = _insert(session)
    result = await session.execute(
        insert(ReceivedEvent)
        .values(id=event.id, type=event.type, source=event.source, channel=channel, received_at=now)
        .on_conflict_do_nothing()
    )
    if isinstance(result, CursorResult) and result.rowcount == 0:
        return False
    try:
        if event.type == "directive.dispatched":
            await _dispatched(
                session, DispatchedData.model_validate(event.data), calendar=calendar, settings=settings, now=now
            )
        elif event.type == "directive.recalled":
            recalled = RecalledData.model_validate(event.data)
            directive = await _upsert_directive(session, recalled.directive, now)
            directive.status = "recalled"
            await _close_all(session, directive.id, "recall", recalled.reason, now)
        elif event.type == "directive.replaced":
            replaced = ReplacedData.model_validate(event.data)
            directive = await _upsert_directive(session, replaced.directive, now)
            directive.status = "replaced"
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
    await session.execute(
        _insert(session)(ReceivedEvent)
        .values(
            id=event_id,
            type=str(item.get("type") or "")[:80],
            source=str(item.get("source") or "")[:80] or None,
            channel=DEAD_LETTER,
            received_at=now,
        )
        .on_conflict_do_nothing()
    )


async def _advance(session: AsyncSession, source: str, sequence: int, now: datetime) -> None:
    result = await session.execute(
        update(FeedCursor).where(FeedCursor.source == source).values(cursor=sequence, updated_at=now)
    )
    if not isinstance(result, CursorResult) or result.rowcount == 0:
        session.add(FeedCursor(source=source, cursor=sequence, updated_at=now))


DEAD_LETTER = "dead_letter"
"""``received_events.channel`` of an event that was refused (counted by the ``events_dead_lettered`` gauge)."""


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
            row = await session.get(FeedCursor, source)
            cursor = row.cursor if row else 0
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
                    await _advance(session, source, sequence, now)
            except EventInvalidError as exc:
                # A poison event must not stop the feed at its sequence forever: dead-letter it (kept
                # under the channel ``dead_letter`` so that neither channel applies it later) and go on.
                logger.error("event %s of the feed dead-lettered: %s", item.get("id"), exc.detail)
                async with transaction(sessionmaker) as session:
                    await _dead_letter(session, item, now)
                    await _advance(session, source, sequence, now)
            cursor = sequence
        if len(items) < limit:
            return applied
