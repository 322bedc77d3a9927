"""Statements of the reminders: the per-kind counter of an obligation and the due timers of the ladder."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from report_api.obligations.models import Obligation
from report_api.reminders.models import Timer
from report_api.reminders.states import ReminderKind

_COUNTERS = {
    ReminderKind.nhac_nho: Obligation.nhac_nho_count,
    ReminderKind.phe_binh: Obligation.phe_binh_count,
    ReminderKind.kiem_diem: Obligation.kiem_diem_count,
}


async def next_sequence(session: AsyncSession, obligation: Obligation, kind: ReminderKind) -> int:
    """Bump the obligation's counter of ``kind`` and return it: the reminder's number (``Lần đôn đốc``).

    One atomic ``UPDATE … RETURNING``, so two reminders sent at the same time get different numbers.
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
    return sequence


async def claim_due_timers(session: AsyncSession, now: datetime, limit: int) -> list[Timer]:
    """Timers due at ``now`` that have not fired, locked (``SKIP LOCKED``: replicas share the work)."""
    statement = (
        select(Timer)
        .where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None), Timer.due_at <= now)
        .order_by(Timer.due_at, Timer.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(statement)).all())


async def lock_obligations(session: AsyncSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Obligation]:
    """The obligations, locked in one order (by id) so that two workers never wait on each other."""
    statement = select(Obligation).where(Obligation.id.in_(sorted(ids))).order_by(Obligation.id).with_for_update()
    return {o.id: o for o in (await session.scalars(statement)).all()}
