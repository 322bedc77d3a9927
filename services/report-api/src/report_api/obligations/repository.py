"""Statements of the obligations slice: what a caller may read, the unit's list, an obligation's detail,
documents as the events told them, the ladder's timers and the outbox rows of ``obligation.*`` events."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from common import outbox
from report_api.events.models import OutboxEvent
from report_api.obligations.models import DirectiveRecord, ExtensionRequest, Obligation, ObligationHistory
from report_api.obligations.states import AWAITING_UNIT, ExtensionStatus, ObligationStatus
from report_api.reminders.models import Reminder, Timer
from report_api.submissions.models import Evidence, Submission

SOURCE = "report-api"
CHUNK = 1000
"""Rows per INSERT: keeps each statement under the drivers' bound-parameter limits."""


def insert_for(session: AsyncSession) -> Any:
    """The dialect's ``insert`` (both have ``on_conflict_do_nothing``)."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


# --- who reads what ----------------------------------------------------------------------------


def readable_statement(*, office: bool, unit: str | None) -> Select[Obligation]:
    """The obligations a caller may read: the Office all of them, a unit officer its unit's."""
    statement = select(Obligation)
    return statement if office else statement.where(Obligation.unit_code == unit)


async def get_readable(
    session: AsyncSession, obligation_id: uuid.UUID, *, office: bool, unit: str | None, lock: bool = False
) -> Obligation | None:
    statement = readable_statement(office=office, unit=unit).where(Obligation.id == obligation_id)
    if lock:
        statement = statement.with_for_update()
    found: Obligation | None = await session.scalar(statement)
    return found


async def directive(session: AsyncSession, directive_id: str) -> DirectiveRecord | None:
    return await session.get(DirectiveRecord, directive_id)


def overdue_clause(today: date) -> ColumnElement[bool]:
    """The unit still owes an answer and the deadline has passed."""
    return and_(Obligation.status.in_(AWAITING_UNIT), Obligation.due_on < today)


async def unit_page(
    session: AsyncSession,
    unit: str,
    *,
    today: date,
    status: ObligationStatus | None,
    overdue: bool | None,
    due_before: date | None,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> list[tuple[Obligation, DirectiveRecord]]:
    """One page (``limit`` + 1 rows) of a unit's obligations in ``(due_on, id)`` order."""
    statement = (
        select(Obligation, DirectiveRecord)
        .join(DirectiveRecord, DirectiveRecord.id == Obligation.directive_id)
        # The list shows the document's summary only: skip its JSON (template, schema) per row.
        .options(
            load_only(
                DirectiveRecord.id,
                DirectiveRecord.notation,
                DirectiveRecord.subject,
                DirectiveRecord.issued_on,
                DirectiveRecord.status,
                raiseload=True,
            )
        )
        .where(Obligation.unit_code == unit)
    )
    if status is not None:
        statement = statement.where(Obligation.status == status)
    if overdue is True:
        statement = statement.where(overdue_clause(today))
    elif overdue is False:
        statement = statement.where(~overdue_clause(today))
    if due_before is not None:
        statement = statement.where(Obligation.due_on < due_before)
    if after is not None:
        day, ident = after
        statement = statement.where(or_(Obligation.due_on > day, and_(Obligation.due_on == day, Obligation.id > ident)))
    rows = await session.execute(statement.order_by(Obligation.due_on, Obligation.id).limit(limit + 1))
    return [(o, d) for o, d in rows.all()]


# --- an obligation's detail ----------------------------------------------------------------------


async def history_of(session: AsyncSession, obligation_id: uuid.UUID) -> list[ObligationHistory]:
    statement = (
        select(ObligationHistory).where(ObligationHistory.obligation_id == obligation_id).order_by(ObligationHistory.id)
    )
    return list(await session.scalars(statement))


async def submissions_of(session: AsyncSession, obligation_id: uuid.UUID) -> list[Submission]:
    statement = select(Submission).where(Submission.obligation_id == obligation_id).order_by(Submission.version)
    return list(await session.scalars(statement))


async def evidence_of(session: AsyncSession, obligation_id: uuid.UUID) -> list[Evidence]:
    statement = select(Evidence).where(Evidence.obligation_id == obligation_id).order_by(Evidence.uploaded_at)
    return list(await session.scalars(statement))


async def extensions_of(session: AsyncSession, obligation_id: uuid.UUID) -> list[ExtensionRequest]:
    statement = (
        select(ExtensionRequest)
        .where(ExtensionRequest.obligation_id == obligation_id)
        .order_by(ExtensionRequest.requested_at)
    )
    return list(await session.scalars(statement))


async def reminders_of(session: AsyncSession, obligation_id: uuid.UUID) -> list[Reminder]:
    statement = (
        select(Reminder)
        .where(Reminder.obligation_id == obligation_id)
        .order_by(Reminder.sent_at, Reminder.kind, Reminder.sequence)
    )
    return list(await session.scalars(statement))


# --- extension requests --------------------------------------------------------------------------


async def pending_extension_id(session: AsyncSession, obligation_id: uuid.UUID) -> uuid.UUID | None:
    found: uuid.UUID | None = await session.scalar(
        select(ExtensionRequest.id).where(
            ExtensionRequest.obligation_id == obligation_id, ExtensionRequest.status == ExtensionStatus.pending
        )
    )
    return found


async def extension_for_update(
    session: AsyncSession, obligation_id: uuid.UUID, request_id: uuid.UUID
) -> ExtensionRequest | None:
    found: ExtensionRequest | None = await session.scalar(
        select(ExtensionRequest)
        .where(ExtensionRequest.id == request_id, ExtensionRequest.obligation_id == obligation_id)
        .with_for_update()
    )
    return found


# --- documents and obligations as directive-api's events make them -------------------------------


async def upsert_directive(session: AsyncSession, directive_id: str, subject: str, now: datetime) -> DirectiveRecord:
    """The document's row, created if new, locked (``FOR UPDATE``) and fresh from the database.

    Events of a document not seen yet can arrive at once (the relay sends a batch concurrently): the
    row is created with ON CONFLICT DO NOTHING, then locked, so the later ones wait and update it.
    """
    await session.execute(
        insert_for(session)(DirectiveRecord)
        .values(id=directive_id, subject=subject, status="active", created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    found = await session.get(DirectiveRecord, directive_id, with_for_update=True, populate_existing=True)
    assert found is not None  # inserted above, or by a transaction that committed before our lock
    return found


async def unit_codes(session: AsyncSession, directive_id: str) -> set[str]:
    return set(
        (await session.scalars(select(Obligation.unit_code).where(Obligation.directive_id == directive_id))).all()
    )


async def insert_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[Obligation]:
    """Insert obligations (``ON CONFLICT DO NOTHING``) in chunks; returns those created."""
    insert = insert_for(session)
    created: list[Obligation] = []
    for start in range(0, len(rows), CHUNK):
        chunk = list(rows[start : start + CHUNK])
        # executemany form: a multi-row VALUES of 1,000 rows × 14 columns took SQLAlchemy ≈ 1 s to compile.
        await session.execute(insert(Obligation).on_conflict_do_nothing(), chunk)
        ids = [r["id"] for r in chunk]
        created.extend((await session.scalars(select(Obligation).where(Obligation.id.in_(ids)))).all())
    return created


async def open_of_directive(
    session: AsyncSession, directive_id: str, statuses: Collection[ObligationStatus]
) -> list[Obligation]:
    statement = select(Obligation).where(Obligation.directive_id == directive_id, Obligation.status.in_(statuses))
    return list((await session.scalars(statement)).all())


async def of_unit(session: AsyncSession, directive_id: str, unit_code: str) -> Obligation | None:
    found: Obligation | None = await session.scalar(
        select(Obligation).where(Obligation.directive_id == directive_id, Obligation.unit_code == unit_code)
    )
    return found


# --- the ladder's timers -------------------------------------------------------------------------


async def insert_timers(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Create timers; one that exists (same natural key) is left as it is."""
    insert = insert_for(session)
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(Timer).on_conflict_do_nothing(), list(rows[start : start + CHUNK]))


async def cancel_timers(session: AsyncSession, obligation_id: uuid.UUID, at: datetime) -> None:
    """Cancel the obligation's timers that have not fired (deadline moved, or obligation closed)."""
    await session.execute(
        update(Timer)
        .where(Timer.obligation_id == obligation_id, Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
        .values(cancelled_at=at)
        .execution_options(synchronize_session=False)
    )


# --- the outbox ------------------------------------------------------------------------------------


def emit(session: AsyncSession, event_type: str, obligation: Obligation, at: datetime, **extra: Any) -> OutboxEvent:
    """Add an ``obligation.*`` event to the outbox (committed with the session's transaction)."""
    data: dict[str, Any] = {
        "directive_id": obligation.directive_id,
        "unit_code": obligation.unit_code,
        "obligation_id": str(obligation.id),
        "at": at.isoformat().replace("+00:00", "Z"),
        **extra,
    }
    event = outbox.emit(
        session, OutboxEvent, type=event_type, subject=str(obligation.id), data=data, source=SOURCE, occurred_at=at
    )
    event.unit_code = obligation.unit_code  # the feed and webhooks select readers by it in SQL
    return event
