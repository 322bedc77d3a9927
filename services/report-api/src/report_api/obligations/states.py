"""The obligation workflow (version 1), roles, reminder kinds and the escalation ladder."""

from __future__ import annotations

from enum import StrEnum

from common.auth import Principal
from common.workflow import Transition, WorkflowDefinition


class ObligationStatus(StrEnum):
    """Where a unit's obligation is in its life (``overdue`` is derived from the deadline)."""

    assigned = "assigned"
    acknowledged = "acknowledged"
    submitted = "submitted"
    accepted = "accepted"
    returned = "returned"
    recalled = "recalled"
    superseded = "superseded"


S = ObligationStatus
OPEN_STATUSES = frozenset({S.assigned.value, S.acknowledged.value, S.submitted.value, S.returned.value})
"""States from which a recall or a replacement closes the obligation."""
AWAITING_UNIT = frozenset({S.assigned.value, S.acknowledged.value, S.returned.value})
"""States in which the unit owes an answer: reminders and the overdue mark apply."""


class Role(StrEnum):
    """Roles of the token's ``roles`` claim that report-api knows."""

    unit_officer = "unit_officer"
    monitor = "monitor"
    admin = "admin"
    integration = "integration"
    system = "system"
    """Internal: changes caused by directive-api's events (never in a token)."""


OFFICE_ROLES = frozenset({Role.monitor.value, Role.admin.value})


class ReminderKind(StrEnum):
    """The three kinds of follow-up (VNPT iOffice "Đôn đốc"): Nhắc nhở, Phê bình, Kiểm điểm."""

    nhac_nho = "nhac_nho"
    phe_binh = "phe_binh"
    kiem_diem = "kiem_diem"


REMINDER_LABELS = {
    ReminderKind.nhac_nho.value: "Nhắc nhở",
    ReminderKind.phe_binh.value: "Phê bình",
    ReminderKind.kiem_diem.value: "Kiểm điểm",
}


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


PRE_DEADLINE_WORKING_DAYS = 2
FOLLOW_UP_EVERY_WORKING_DAYS = 3
FOLLOW_UP_COUNT = 3
ESCALATION_AFTER_WORKING_DAYS = 10

SYSTEM = Principal(
    subject="directive-api", name="directive-api (sự kiện)", roles=frozenset({Role.system.value}), unit=None
)
TIMER = Principal(
    subject="report-api-timer", name="Bộ hẹn giờ đôn đốc", roles=frozenset({Role.system.value}), unit=None
)

STATUS_LABELS = {
    S.assigned.value: "Đã giao, chưa tiếp nhận",
    S.acknowledged.value: "Đã tiếp nhận",
    S.submitted.value: "Đã báo cáo, chờ duyệt",
    S.accepted.value: "Đã duyệt",
    S.returned.value: "Bị trả lại",
    S.recalled.value: "Đã thu hồi",
    S.superseded.value: "Được thay thế",
}

_UNIT = frozenset({Role.unit_officer.value})
_OFFICE = frozenset(OFFICE_ROLES)
_SYSTEM = frozenset({Role.system.value})

OBLIGATION_WORKFLOW = WorkflowDefinition.build(
    "obligation",
    1,
    states=[s.value for s in ObligationStatus],
    initial=S.assigned.value,
    transitions=[
        Transition(
            name="acknowledge",
            sources=frozenset({S.assigned.value}),
            target=S.acknowledged.value,
            roles=_UNIT,
            description="The unit confirms it received the document.",
        ),
        Transition(
            name="submit",
            sources=frozenset({S.acknowledged.value, S.returned.value}),
            target=S.submitted.value,
            roles=_UNIT,
            description="The unit submits its report (again after a return).",
        ),
        Transition(
            name="accept",
            sources=frozenset({S.submitted.value}),
            target=S.accepted.value,
            roles=_OFFICE,
            description="The Office accepts the report.",
        ),
        Transition(
            name="return",
            sources=frozenset({S.submitted.value}),
            target=S.returned.value,
            roles=_OFFICE,
            comment_required=True,
            description="The Office returns the report with a comment.",
        ),
        Transition(
            name="recall",
            sources=OPEN_STATUSES,
            target=S.recalled.value,
            roles=_SYSTEM,
            description="The document was recalled (thu hồi).",
        ),
        Transition(
            name="supersede",
            sources=OPEN_STATUSES,
            target=S.superseded.value,
            roles=_SYSTEM,
            description="The document was replaced by another one.",
        ),
    ],
)
