"""Tables of the reminders: the follow-ups sent to units and the durable timers of the escalation ladder."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.db import UTCDateTime
from report_api.models import Model, sql_values, state_type
from report_api.reminders.states import ReminderKind, ReminderSource, TimerKind


class Reminder(Model):
    """A follow-up (đôn đốc) sent to a unit; immutable; numbered per kind (``Lần đôn đốc``)."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("obligation_id", "kind", "sequence"),
        CheckConstraint(f"kind IN ({sql_values(ReminderKind)})", name="kind_known"),
        CheckConstraint(f"source IN ({sql_values(get_args(ReminderSource))})", name="source_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id"), index=True)
    kind: Mapped[ReminderKind] = mapped_column(state_type(ReminderKind))
    sequence: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    source: Mapped[ReminderSource] = mapped_column(String(20))
    escalated_to: Mapped[str | None] = mapped_column(String(40))
    sent_by: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Timer(Model):
    """A durable timer of the escalation ladder; ``key`` makes creating it twice impossible."""

    __tablename__ = "timers"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_values(TimerKind)})", name="kind_known"),
        Index("ix_timers_pending", "due_at", postgresql_where="fired_at IS NULL AND cancelled_at IS NULL"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id"), index=True)
    kind: Mapped[TimerKind] = mapped_column(state_type(TimerKind))
    step: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(40))
