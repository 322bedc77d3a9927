"""The timer worker: fires each due timer of the escalation ladder exactly once.

On PostgreSQL the due timers are claimed with ``SELECT … FOR UPDATE SKIP LOCKED``, so several
workers (replicas) share the work without firing a timer twice; on SQLite the transaction takes the
database's write lock (``BEGIN IMMEDIATE``) and one worker runs at a time. A timer is marked fired
in the transaction that records its effect (reminder, counter, outbox event): a crash before the
commit leaves it due, a crash after it leaves it fired — never both, never twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.calendar import WorkingCalendar
from common.db import transaction
from report_api.obligations.lifecycle import AWAITING_UNIT, REMINDER_LABELS, TIMER, TimerKind
from report_api.obligations.models import DirectiveRecord, Obligation, Timer
from report_api.obligations.outbox import emit
from report_api.obligations.reminders import send_reminder
from report_api.settings import Settings

logger = logging.getLogger(__name__)


def _message(kind: str, obligation: Obligation, directive: DirectiveRecord, days_late: int) -> str:
    doc = f"văn bản {directive.notation or directive.subject}"
    due = obligation.due_on.strftime("%d/%m/%Y")
    if kind == TimerKind.pre_deadline.value:
        return f"Đề nghị {obligation.unit_name} báo cáo kết quả thực hiện {doc} trước hạn {due}."
    if kind == TimerKind.overdue.value:
        return f"{obligation.unit_name} chưa báo cáo kết quả thực hiện {doc}; đã quá hạn {due}."
    if kind == TimerKind.follow_up.value:
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
    directive = await session.get(DirectiveRecord, obligation.directive_id)
    assert directive is not None
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    days_late = calendar.working_days_between(obligation.due_on, today)
    kind = {
        TimerKind.pre_deadline.value: "nhac_nho",
        TimerKind.overdue.value: "nhac_nho",
        TimerKind.follow_up.value: "phe_binh",
        TimerKind.escalation.value: "kiem_diem",
    }[timer.kind]
    await send_reminder(
        session,
        obligation,
        kind=kind,
        content=_message(timer.kind, obligation, directive, days_late),
        source="scheduled",
        sent_by=TIMER.id,
        at=now,
        escalated_to=obligation.supervisor_code if kind == "kiem_diem" else None,
    )
    if timer.kind == TimerKind.overdue.value and obligation.overdue_at is None:
        obligation.overdue_at = now
        emit(session, "obligation.overdue", obligation, now, due_on=obligation.due_on.isoformat())
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
            timers = list(
                (
                    await session.scalars(
                        select(Timer)
                        .where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None), Timer.due_at <= now)
                        .order_by(Timer.due_at, Timer.id)
                        .limit(batch_size)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
            )
            # lock the obligations in one order (by id), so that two workers never wait on each other
            ids = sorted({t.obligation_id for t in timers})
            locked = {
                o.id: o
                for o in (
                    await session.scalars(
                        select(Obligation).where(Obligation.id.in_(ids)).order_by(Obligation.id).with_for_update()
                    )
                ).all()
            }
            for timer in timers:
                timer.outcome = await _fire(session, timer, locked[timer.obligation_id], now, settings, calendar)
                timer.fired_at = now
            fired += len(timers)
        if len(timers) < batch_size:
            return fired
