"""Tables of the obligations: documents as directive-api's events told them, what each unit owes, its
history and its extension requests."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.db import JSONType, UTCDateTime, utc_now
from common.workflow import HISTORY_FIELDS, WorkflowHistoryMixin
from report_api.models import Model, sql_values, state_type
from report_api.obligations.states import DirectiveStatus, ExtensionStatus, ObligationStatus


class DirectiveRecord(Model):
    """What directive-api's events said about a document (report-api never reads its tables)."""

    __tablename__ = "directives"
    __table_args__ = (CheckConstraint(f"status IN ({sql_values(DirectiveStatus)})", name="status_known"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_id: Mapped[str | None] = mapped_column(String(64))
    doc_type: Mapped[str | None] = mapped_column(String(8))
    notation: Mapped[str | None] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(500))
    issuer_code: Mapped[str | None] = mapped_column(String(40))
    issued_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[DirectiveStatus] = mapped_column(state_type(DirectiveStatus), default=DirectiveStatus.active)
    compliance: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    report_schema: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    """The JSON Schema of the report, generated from ``compliance.report_fields``."""
    replaced_by: Mapped[str | None] = mapped_column(String(64))
    carries_from: Mapped[str | None] = mapped_column(String(64), index=True)
    """The document this one replaces or corrects: its obligations' progress is carried over to this one's."""
    carry_kind: Mapped[str | None] = mapped_column(String(20))
    """``replacement`` or ``correction`` (đính chính), with ``carries_from``."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class Obligation(Model):
    """What one addressee unit owes for one document."""

    __tablename__ = "obligations"
    __table_args__ = (
        UniqueConstraint("directive_id", "unit_code"),
        CheckConstraint(f"status IN ({sql_values(ObligationStatus)})", name="status_known"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(
            "nhac_nho_count >= 0 AND phe_binh_count >= 0 AND kiem_diem_count >= 0", name="counters_non_negative"
        ),
        Index("ix_obligations_unit_due", "unit_code", "due_on", "id"),
        Index("ix_obligations_directive_status", "directive_id", "status"),
        # An obligation's progress is carried over once: to the same unit's obligation of the successor.
        Index("ux_obligations_carried_from", "carried_from_id", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    directive_id: Mapped[str] = mapped_column(ForeignKey("directives.id"))
    unit_code: Mapped[str] = mapped_column(String(40))
    unit_name: Mapped[str] = mapped_column(String(300))
    group_code: Mapped[str | None] = mapped_column(String(40))
    supervisor_code: Mapped[str] = mapped_column(String(40))
    must_act: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[ObligationStatus] = mapped_column(state_type(ObligationStatus), default=ObligationStatus.assigned)
    version: Mapped[int] = mapped_column(Integer, default=1)
    due_on: Mapped[date] = mapped_column(Date)
    original_due_on: Mapped[date] = mapped_column(Date)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_submission_late: Mapped[bool | None] = mapped_column(Boolean)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the overdue event was emitted (the deadline passed without a report)."""
    submission_count: Mapped[int] = mapped_column(Integer, default=0)
    nhac_nho_count: Mapped[int] = mapped_column(Integer, default=0)
    phe_binh_count: Mapped[int] = mapped_column(Integer, default=0)
    kiem_diem_count: Mapped[int] = mapped_column(Integer, default=0)
    carried_from_id: Mapped[uuid.UUID | None] = mapped_column()
    """The same unit's obligation of the replaced or corrected document whose progress this one carries."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class ObligationHistory(WorkflowHistoryMixin, Model):
    """One row per transition of an obligation, written in the transaction of the change.

    Append-only (database triggers refuse UPDATE and DELETE) and hash-chained (common.audit).
    """

    __tablename__ = "obligation_history"
    __audit_fields__ = ("obligation_id", *HISTORY_FIELDS)

    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id"), index=True)


class ExtensionRequest(Model):
    """A unit asks for a later deadline; the Office approves (with a date) or denies."""

    __tablename__ = "extension_requests"
    __table_args__ = (CheckConstraint(f"status IN ({sql_values(ExtensionStatus)})", name="status_known"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id"), index=True)
    requested_due_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[ExtensionStatus] = mapped_column(state_type(ExtensionStatus), default=ExtensionStatus.pending)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_due_on: Mapped[date | None] = mapped_column(Date)
    decision_comment: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
