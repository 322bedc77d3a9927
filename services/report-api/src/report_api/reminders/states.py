"""Reminder kinds, the escalation ladder's steps and timing: shared data definitions like the models."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from common.auth import Principal
from report_api.access import Role


class ReminderKind(StrEnum):
    """The three kinds of follow-up (VNPT iOffice "Đôn đốc"): Nhắc nhở, Phê bình, Kiểm điểm."""

    nhac_nho = "nhac_nho"
    phe_binh = "phe_binh"
    kiem_diem = "kiem_diem"


REMINDER_LABELS: dict[str, str] = {
    ReminderKind.nhac_nho: "Nhắc nhở",
    ReminderKind.phe_binh: "Phê bình",
    ReminderKind.kiem_diem: "Kiểm điểm",
}

ReminderSource = Literal["manual", "scheduled"]


class TimerKind(StrEnum):
    """Steps of the escalation ladder, each a durable timer row."""

    pre_deadline = "pre_deadline"
    """2 working days before the deadline: Nhắc nhở."""
    overdue = "overdue"
    """The deadline passed (first working day after it): Nhắc nhở and ``obligation.overdue``."""
    follow_up = "follow_up"
    """Every 3 working days after the deadline: Phê bình."""
    escalation = "escalation"
    """10 working days after the deadline: Kiểm điểm, escalated to the supervising body."""


TIMER_REMINDER = {
    TimerKind.pre_deadline: ReminderKind.nhac_nho,
    TimerKind.overdue: ReminderKind.nhac_nho,
    TimerKind.follow_up: ReminderKind.phe_binh,
    TimerKind.escalation: ReminderKind.kiem_diem,
}
"""The kind of reminder each step of the ladder sends."""

PRE_DEADLINE_WORKING_DAYS = 2
FOLLOW_UP_EVERY_WORKING_DAYS = 3
FOLLOW_UP_COUNT = 3
ESCALATION_AFTER_WORKING_DAYS = 10

TIMER = Principal(
    subject="report-api-timer", name="Bộ hẹn giờ đôn đốc", roles=frozenset({Role.system.value}), unit=None
)
