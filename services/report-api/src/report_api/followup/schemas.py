"""Bodies of the bulk follow-up actions and of the Office's unit list."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from report_api.obligations.schemas import Comment, ReminderCounts, StrictModel
from report_api.reminders.schemas import ReminderContent
from report_api.reminders.states import ReminderKind

UnitCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$")
]
"""A unit code: no control characters (PostgreSQL refuses NUL in text; a code never holds one)."""

ReminderFilter = Literal["silent", "overdue", "returned"]


class BulkReminderCreate(StrictModel):
    """Remind every unit the filter selects (optionally only among ``units``)."""

    kind: ReminderKind = ReminderKind.nhac_nho
    filter: ReminderFilter = Field(
        description="`silent`: no report yet (assigned or acknowledged); `overdue`: owes an answer after the "
        "deadline; `returned`: its report was returned and not resubmitted."
    )
    units: list[UnitCode] | None = Field(default=None, max_length=10_000, description="Only these units.")
    content: ReminderContent


class BulkReminderItem(BaseModel):
    id: uuid.UUID
    obligation_id: uuid.UUID
    unit_code: str
    sequence: int


class BulkReminderResult(BaseModel):
    count: int
    ids: list[uuid.UUID] = Field(description="The reminders sent, one per unit.")
    items: list[BulkReminderItem]
    skipped_units: list[str] = Field(description="Units of `units` the filter did not select (or not addressees).")


class BulkReviewCreate(StrictModel):
    """One decision on the latest report of each named obligation of the document (all or none)."""

    decision: Literal["accept", "return"]
    comment: Comment | None = None
    obligation_ids: list[uuid.UUID] = Field(min_length=1, max_length=5_000)


class BulkReviewResult(BaseModel):
    count: int
    ids: list[uuid.UUID]
    status: str


class OfficeObligationRow(BaseModel):
    id: uuid.UUID
    unit_code: str
    unit_name: str
    group_code: str | None
    status: str
    status_label: str
    version: int
    due_on: date
    original_due_on: date
    overdue: bool
    working_days_overdue: int
    acknowledged_at: datetime | None
    first_submitted_at: datetime | None
    first_submission_late: bool | None
    accepted_at: datetime | None
    submission_count: int
    reminder_counts: ReminderCounts
    carried_from_id: uuid.UUID | None


class OfficeObligationPage(BaseModel):
    items: list[OfficeObligationRow]
    next_cursor: str | None = Field(description="Pass as `cursor` to read the next page; null at the end.")
