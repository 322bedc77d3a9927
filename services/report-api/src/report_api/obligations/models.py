"""Tables of report-api: directives as the events told them, obligations and everything around them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.db import JSONType, UTCDateTime, utc_now
from common.outbox import (
    DeliveryAttemptMixin,
    DeliveryMixin,
    OutboxEventMixin,
    OutboxModels,
    WebhookSubscriptionMixin,
)
from common.workflow import HISTORY_FIELDS, WorkflowHistoryMixin
from report_api.models import Model
from report_api.obligations.lifecycle import ObligationStatus, ReminderKind, TimerKind


def _in(values: Any) -> str:
    return ", ".join(f"'{v.value if hasattr(v, 'value') else v}'" for v in values)


DIRECTIVE_STATUSES = ("active", "recalled", "replaced")
REVIEW_STATUSES = ("pending", "accepted", "returned")
EXTENSION_STATUSES = ("pending", "approved", "denied")
REMINDER_SOURCES = ("manual", "scheduled")


class DirectiveRecord(Model):
    """What directive-api's events said about a document (report-api never reads its tables)."""

    __tablename__ = "directives"
    __table_args__ = (CheckConstraint(f"status IN ({_in(DIRECTIVE_STATUSES)})", name="status_known"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_id: Mapped[str | None] = mapped_column(String(64))
    doc_type: Mapped[str | None] = mapped_column(String(8))
    notation: Mapped[str | None] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(500))
    issuer_code: Mapped[str | None] = mapped_column(String(40))
    issued_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")
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
        CheckConstraint(f"status IN ({_in(ObligationStatus)})", name="status_known"),
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
    status: Mapped[str] = mapped_column(String(20), default=ObligationStatus.assigned.value)
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


class Submission(Model):
    """One version of a unit's report; versions are kept, never overwritten."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("obligation_id", "version"),
        CheckConstraint(f"review_status IN ({_in(REVIEW_STATUSES)})", name="review_status_known"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    evidence_ids: Mapped[list[str]] = mapped_column(JSONType)
    late: Mapped[bool] = mapped_column(Boolean)
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    review_status: Mapped[str] = mapped_column(String(20), default="pending")
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Evidence(Model):
    """An uploaded evidence file (stored on disk under a server-generated name)."""

    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint("media_type IN ('application/pdf', 'image/png', 'image/jpeg')", name="media_type_known"),
        CheckConstraint("size_bytes > 0", name="size_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExtensionRequest(Model):
    """A unit asks for a later deadline; the Office approves (with a date) or denies."""

    __tablename__ = "extension_requests"
    __table_args__ = (CheckConstraint(f"status IN ({_in(EXTENSION_STATUSES)})", name="status_known"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id"), index=True)
    requested_due_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_due_on: Mapped[date | None] = mapped_column(Date)
    decision_comment: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Reminder(Model):
    """A follow-up (đôn đốc) sent to a unit; immutable; numbered per kind (``Lần đôn đốc``)."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("obligation_id", "kind", "sequence"),
        CheckConstraint(f"kind IN ({_in(ReminderKind)})", name="kind_known"),
        CheckConstraint(f"source IN ({_in(REMINDER_SOURCES)})", name="source_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    sequence: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    escalated_to: Mapped[str | None] = mapped_column(String(40))
    sent_by: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Timer(Model):
    """A durable timer of the escalation ladder; ``key`` makes creating it twice impossible."""

    __tablename__ = "timers"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(TimerKind)})", name="kind_known"),
        Index("ix_timers_pending", "due_at", postgresql_where="fired_at IS NULL AND cancelled_at IS NULL"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    step: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(40))


class ReceivedEvent(Model):
    """Events of directive-api already applied (webhook or feed): the de-duplication key."""

    __tablename__ = "received_events"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(80))
    source: Mapped[str | None] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class FeedCursor(Model):
    """How far the pull consumer has read a source's feed."""

    __tablename__ = "feed_cursors"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class OutboxEvent(OutboxEventMixin, Model):
    """Events of report-api, written in the transaction of the change; the relay sequences and delivers them."""

    __tablename__ = "outbox_events"


class WebhookSubscription(WebhookSubscriptionMixin, Model):
    """``owner`` is the client (the token's ``sub``) and ``owner_unit`` its unit (none for a system
    client): together they name the owner, as in directive-api, so a client of the same name in
    another unit never sees or changes the subscription."""

    __tablename__ = "webhook_subscriptions"

    owner_unit: Mapped[str | None] = mapped_column(String(40), index=True, nullable=True)


class WebhookDelivery(DeliveryMixin, Model):
    __tablename__ = "webhook_deliveries"


class WebhookDeliveryAttempt(DeliveryAttemptMixin, Model):
    __tablename__ = "webhook_delivery_attempts"


OUTBOX = OutboxModels(OutboxEvent, WebhookSubscription, WebhookDelivery, WebhookDeliveryAttempt)
