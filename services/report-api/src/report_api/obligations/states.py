"""The obligation workflow (version 1), its states and their sets, defined once.

A shared data definition like the models: any slice may import it.
"""

from __future__ import annotations

from enum import StrEnum

from common.auth import Principal
from common.workflow import Transition, WorkflowDefinition
from report_api.access import OFFICE_ROLES, Role


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
OPEN_STATUSES = frozenset({S.assigned, S.acknowledged, S.submitted, S.returned})
"""States from which a recall or a replacement closes the obligation."""
CLOSED_STATUSES = frozenset({S.accepted, S.recalled, S.superseded})
"""Terminal states: no action, upload or reminder any more."""
WITHDRAWN = frozenset({S.recalled, S.superseded})
"""Closed by the document (recalled or replaced), not by the unit's answer."""
AWAITING_UNIT = frozenset({S.assigned, S.acknowledged, S.returned})
"""States in which the unit owes an answer: reminders and the overdue mark apply."""
SILENT = frozenset({S.assigned, S.acknowledged})
"""States of a unit that has not reported at all yet."""
assert set(ObligationStatus) == OPEN_STATUSES | CLOSED_STATUSES and not OPEN_STATUSES & CLOSED_STATUSES

STATUS_LABELS: dict[str, str] = {
    S.assigned: "Đã giao, chưa tiếp nhận",
    S.acknowledged: "Đã tiếp nhận",
    S.submitted: "Đã báo cáo, chờ duyệt",
    S.accepted: "Đã duyệt",
    S.returned: "Bị trả lại",
    S.recalled: "Đã thu hồi",
    S.superseded: "Được thay thế",
}


class DirectiveStatus(StrEnum):
    """A followed document as directive-api's events left it."""

    active = "active"
    recalled = "recalled"
    replaced = "replaced"


class ExtensionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    denied = "denied"


SYSTEM = Principal(
    subject="directive-api", name="directive-api (sự kiện)", roles=frozenset({Role.system.value}), unit=None
)

_UNIT = frozenset({Role.unit_officer.value})
_OFFICE = frozenset(OFFICE_ROLES)
_SYSTEM = frozenset({Role.system.value})
_OPEN = frozenset(s.value for s in OPEN_STATUSES)

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
            # system: the unit's clerk registered (03) a document received over the exchange in directive-api
            roles=_UNIT | _SYSTEM,
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
            sources=_OPEN,
            target=S.recalled.value,
            roles=_SYSTEM,
            description="The document was recalled (thu hồi).",
        ),
        Transition(
            name="supersede",
            sources=_OPEN,
            target=S.superseded.value,
            roles=_SYSTEM,
            description="The document was replaced by another one.",
        ),
    ],
)
