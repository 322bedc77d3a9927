"""Request and response bodies of the obligations slice (and the read views its detail embeds)."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


def nfc(value: str) -> str:
    """NFC: Vietnamese text typed on different keyboards compares and sorts alike."""
    return unicodedata.normalize("NFC", value)


Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000), AfterValidator(nfc)]


class StrictModel(BaseModel):
    """Unknown fields are refused: a client cannot set server-owned state by adding a field."""

    model_config = ConfigDict(extra="forbid")


# --- requests ----------------------------------------------------------------------------------


class ExtensionCreate(StrictModel):
    requested_due_on: date
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000), AfterValidator(nfc)
    ]


class ExtensionDecision(StrictModel):
    decision: Literal["approve", "deny"]
    new_due_on: date | None = None
    """For an approval: the new deadline (the requested date when omitted)."""
    comment: Comment | None = None


# --- responses ---------------------------------------------------------------------------------


class DirectiveSummary(BaseModel):
    id: str
    notation: str | None
    subject: str
    issued_on: date | None
    status: str


class ReminderCounts(BaseModel):
    nhac_nho: int
    phe_binh: int
    kiem_diem: int


class ObligationRead(BaseModel):
    id: uuid.UUID
    directive: DirectiveSummary
    unit_code: str
    unit_name: str
    group_code: str | None
    status: str
    status_label: str
    version: int
    etag: str
    due_on: date
    original_due_on: date
    overdue: bool
    working_days_overdue: int
    acknowledged_at: datetime | None
    first_submitted_at: datetime | None
    accepted_at: datetime | None
    submission_count: int
    reminder_counts: ReminderCounts
    allowed_actions: list[str]
    carried_from_id: uuid.UUID | None = Field(
        default=None,
        description="The same unit's obligation of the replaced or corrected document whose progress this one carries.",
    )


class HistoryEntryRead(BaseModel):
    action: str
    from_status: str | None
    to_status: str
    actor_id: str
    actor_name: str
    comment: str | None
    version: int
    at: datetime


class SubmissionRead(BaseModel):
    id: uuid.UUID
    version: int
    data: dict[str, Any]
    evidence_ids: list[str]
    late: bool
    submitted_by: str
    submitted_at: datetime
    review_status: str
    review_comment: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None


class EvidenceRead(BaseModel):
    id: uuid.UUID
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class ExtensionRead(BaseModel):
    id: uuid.UUID
    requested_due_on: date
    reason: str
    status: str
    requested_by: str
    requested_at: datetime
    approved_due_on: date | None
    decision_comment: str | None
    decided_by: str | None
    decided_at: datetime | None


class ReminderRead(BaseModel):
    id: uuid.UUID
    kind: str
    kind_label: str
    sequence: int
    content: str
    source: str
    escalated_to: str | None
    sent_by: str
    sent_at: datetime


class ObligationDetail(ObligationRead):
    instructions: str | None
    report_schema: dict[str, Any] | None
    history: list[HistoryEntryRead]
    submissions: list[SubmissionRead]
    evidence: list[EvidenceRead]
    extension_requests: list[ExtensionRead]
    reminders: list[ReminderRead]


class ObligationPage(BaseModel):
    items: list[ObligationRead]
    next_cursor: str | None = Field(description="Pass as `cursor` to read the next page; null at the end.")
