"""Reminders (đôn đốc) and the durable timers of the escalation ladder."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from common.calendar import WorkingCalendar
from report_api.obligations.lifecycle import (
    ESCALATION_AFTER_WORKING_DAYS,
    FOLLOW_UP_COUNT,
    FOLLOW_UP_EVERY_WORKING_DAYS,
    PRE_DEADLINE_WORKING_DAYS,
    ReminderKind,
    TimerKind,
)
from report_api.obligations.models import Obligation, Reminder, Timer

_COUNTERS = {
    ReminderKind.nhac_nho.value: Obligation.nhac_nho_count,
    ReminderKind.phe_binh.value: Obligation.phe_binh_count,
    ReminderKind.kiem_diem.value: Obligation.kiem_diem_count,
}


async def send_reminder(
    session: AsyncSession,
    obligation: Obligation,
    *,
    kind: str,
    content: str,
    source: str,
    sent_by: str,
    at: datetime,
    escalated_to: str | None = None,
) -> Reminder:
    """Record a reminder and bump the obligation's counter of that kind in the same transaction.

    The counter is incremented by one atomic ``UPDATE … RETURNING``, so two reminders sent at the
    same time get different numbers (``Lần đôn đốc``).
    """
    column = _COUNTERS[kind]
    result = await session.execute(
        update(Obligation)
        .where(Obligation.id == obligation.id)
        .values({column.key: column + 1})
        .returning(column)
        .execution_options(synchronize_session=False)
    )
    sequence = int(result.scalar_one())
    setattr(obligation, column.key, sequence)
    reminder = Reminder(
        obligation_id=obligation.id,
        kind=kind,
        sequence=sequence,
        content=content,
        source=source,
        escalated_to=escalated_to,
        sent_by=sent_by,
        sent_at=at,
    )
    session.add(reminder)
    await session.flush()
    return reminder


def local_moment(day: date, hour: int, timezone: str) -> datetime:
    """``hour``:00 local time on ``day``, in UTC."""
    return datetime.combine(day, time(hour), ZoneInfo(timezone)).astimezone(UTC)


def ladder(due_on: date, calendar: WorkingCalendar) -> list[tuple[str, int, date]]:
    """The escalation ladder of a deadline: (timer kind, step, day it falls due)."""
    pre = due_on
    for _ in range(PRE_DEADLINE_WORKING_DAYS):
        pre = calendar.previous_working_day(pre)
    steps: list[tuple[str, int, date]] = [
        (TimerKind.pre_deadline.value, 0, pre),
        (TimerKind.overdue.value, 0, calendar.add_working_days(due_on, 1)),
    ]
    for i in range(1, FOLLOW_UP_COUNT + 1):
        steps.append(
            (TimerKind.follow_up.value, i, calendar.add_working_days(due_on, i * FOLLOW_UP_EVERY_WORKING_DAYS))
        )
    steps.append((TimerKind.escalation.value, 0, calendar.add_working_days(due_on, ESCALATION_AFTER_WORKING_DAYS)))
    return steps


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def plan_timers(
    session: AsyncSession,
    obligations: list[Obligation],
    *,
    calendar: WorkingCalendar,
    hour: int,
    timezone: str,
) -> None:
    """Create the ladder's timers of each obligation's current deadline (never twice: unique key)."""
    rows: list[dict[str, Any]] = []
    # A dispatch gives thousands of obligations the same deadline: one ladder per distinct deadline.
    ladders: dict[date, list[tuple[str, int, datetime]]] = {}
    for obligation in obligations:
        steps = ladders.get(obligation.due_on)
        if steps is None:
            steps = [
                (kind, step, local_moment(day, hour, timezone))
                for kind, step, day in ladder(obligation.due_on, calendar)
            ]
            ladders[obligation.due_on] = steps
        for kind, step, due_at in steps:
            rows.append(
                {
                    "key": timer_key(obligation.id, obligation.due_on, kind, step),
                    "obligation_id": obligation.id,
                    "kind": kind,
                    "step": step,
                    "due_at": due_at,
                }
            )
    if not rows:
        return
    insert = _insert(session)
    for start in range(0, len(rows), 1000):
        await session.execute(insert(Timer).on_conflict_do_nothing(), rows[start : start + 1000])


def timer_key(obligation_id: uuid.UUID, due_on: date, kind: str, step: int) -> str:
    """The natural key of a ladder step: one per (obligation, deadline, kind, step)."""
    return f"{obligation_id}:{due_on.isoformat()}:{kind}:{step}"


async def cancel_timers(session: AsyncSession, obligation_id: uuid.UUID, at: datetime) -> None:
    """Cancel the obligation's timers that have not fired (deadline moved, or obligation closed)."""
    await session.execute(
        update(Timer)
        .where(Timer.obligation_id == obligation_id, Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
        .values(cancelled_at=at)
        .execution_options(synchronize_session=False)
    )
