"""Reminders (đôn đốc) and the timer worker that fires each due step of the escalation ladder once.

On PostgreSQL the due timers are claimed with ``SELECT … FOR UPDATE SKIP LOCKED``, so several
workers (replicas) share the work without firing a timer twice; on SQLite the transaction takes the
database's write lock (``BEGIN IMMEDIATE``) and one worker runs at a time. A timer is marked fired
in the transaction that records its effect (reminder, counter, outbox event): a crash before the
commit leaves it due, a crash after it leaves it fired — never both, never twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.auth import Principal
from common.calendar import WorkingCalendar
from common.db import transaction
from report_api.access import require_office
from report_api.context import Context
from report_api.obligations import repository as obligations_repository
from report_api.obligations import service as obligations
from report_api.obligations.errors import ObligationClosedError
from report_api.obligations.models import DirectiveRecord, Obligation
from report_api.obligations.schemas import ReminderRead
from report_api.obligations.states import AWAITING_UNIT
from report_api.reminders import repository
from report_api.reminders.models import Reminder, Timer
from report_api.reminders.states import REMINDER_LABELS, TIMER, TIMER_REMINDER, ReminderKind, ReminderSource, TimerKind
from report_api.settings import Settings


async def send_reminder(
    session: AsyncSession,
    obligation: Obligation,
    *,
    kind: ReminderKind,
    content: str,
    source: ReminderSource,
    sent_by: str,
    at: datetime,
    escalated_to: str | None = None,
) -> Reminder:
    """Record a reminder and bump the obligation's counter of that kind in the same transaction."""
    sequence = await repository.next_sequence(session, obligation, kind)
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


def escalated_to(obligation: Obligation, kind: ReminderKind) -> str | None:
    """A Kiểm điểm goes to the unit's supervising body too."""
    return obligation.supervisor_code if kind == ReminderKind.kiem_diem else None


async def remind(
    session: AsyncSession, obligation_id: uuid.UUID, kind: ReminderKind, content: str, actor: Principal, ctx: Context
) -> ReminderRead:
    """A manual reminder from the Office (only while the unit still owes an answer)."""
    require_office(actor, ctx.settings)
    obligation = await obligations.load(session, obligation_id, actor, ctx)
    if obligation.status not in AWAITING_UNIT:
        raise ObligationClosedError(f"no reminder while the status is '{obligation.status}'")
    reminder = await send_reminder(
        session,
        obligation,
        kind=kind,
        content=content,
        source="manual",
        sent_by=actor.id,
        at=ctx.now(),
        escalated_to=escalated_to(obligation, kind),
    )
    return obligations.reminder_view(reminder)


# --- the timer worker ----------------------------------------------------------------------------


def _message(kind: TimerKind, obligation: Obligation, directive: DirectiveRecord, days_late: int) -> str:
    doc = f"văn bản {directive.notation or directive.subject}"
    due = obligation.due_on.strftime("%d/%m/%Y")
    if kind == TimerKind.pre_deadline:
        return f"Đề nghị {obligation.unit_name} báo cáo kết quả thực hiện {doc} trước hạn {due}."
    if kind == TimerKind.overdue:
        return f"{obligation.unit_name} chưa báo cáo kết quả thực hiện {doc}; đã quá hạn {due}."
    if kind == TimerKind.follow_up:
        return f"Phê bình {obligation.unit_name}: chậm báo cáo {doc} {days_late} ngày làm việc (hạn {due})."
    return (
        f"Đề nghị kiểm điểm {obligation.unit_name}: chậm báo cáo {doc} {days_late} ngày làm việc "
        f"(hạn {due}); chuyển cơ quan quản lý {obligation.supervisor_code}."
    )


async def _fire(
    session: AsyncSession,
    timer: Timer,
    obligation: Obligation,
    now: datetime,
    settings: Settings,
    calendar: WorkingCalendar,
) -> str:
    if obligation.status not in AWAITING_UNIT:
        return f"skipped:{obligation.status}"
    if timer.key.split(":")[1] != obligation.due_on.isoformat():
        return "skipped:deadline-moved"
    directive = await obligations.directive_of(session, obligation)
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    days_late = calendar.working_days_between(obligation.due_on, today)
    kind = TIMER_REMINDER[timer.kind]
    await send_reminder(
        session,
        obligation,
        kind=kind,
        content=_message(timer.kind, obligation, directive, days_late),
        source="scheduled",
        sent_by=TIMER.id,
        at=now,
        escalated_to=escalated_to(obligation, kind),
    )
    if timer.kind == TimerKind.overdue and obligation.overdue_at is None:
        obligation.overdue_at = now
        obligations_repository.emit(
            session, "obligation.overdue", obligation, now, due_on=obligation.due_on.isoformat()
        )
    return f"sent:{REMINDER_LABELS[kind]}"


async def run_due_timers(
    session_maker: async_sessionmaker[AsyncSession],
    now: datetime,
    *,
    settings: Settings | None = None,
    batch_size: int = 100,
) -> int:
    """Fire every timer due at ``now`` that has not fired; returns how many fired."""
    from report_api.settings import get_settings

    settings = settings or get_settings()
    calendar = settings.calendar()
    fired = 0
    while True:
        async with transaction(session_maker) as session:
            timers = await repository.claim_due_timers(session, now, batch_size)
            locked = await repository.lock_obligations(session, {t.obligation_id for t in timers})
            for timer in timers:
                timer.outcome = await _fire(session, timer, locked[timer.obligation_id], now, settings, calendar)
                timer.fired_at = now
            fired += len(timers)
        if len(timers) < batch_size:
            return fired
