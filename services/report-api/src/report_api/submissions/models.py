"""Tables of the submissions: report versions and evidence files."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.db import JSONType, UTCDateTime
from report_api.models import Model, sql_values, state_type


class ReviewStatus(StrEnum):
    """The Office's decision on one report version."""

    pending = "pending"
    accepted = "accepted"
    returned = "returned"


REVIEW_LABELS: dict[str, str] = {
    ReviewStatus.pending: "Chờ duyệt",
    ReviewStatus.accepted: "Đã duyệt",
    ReviewStatus.returned: "Bị trả lại",
}

EVIDENCE_TYPES = ("application/pdf", "image/png", "image/jpeg")
"""Media types an evidence file may have (sniffed from its content)."""


class Submission(Model):
    """One version of a unit's report; versions are kept, never overwritten."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("obligation_id", "version"),
        CheckConstraint(f"review_status IN ({sql_values(ReviewStatus)})", name="review_status_known"),
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
    review_status: Mapped[ReviewStatus] = mapped_column(state_type(ReviewStatus), default=ReviewStatus.pending)
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Evidence(Model):
    """An uploaded evidence file (stored on disk under a server-generated name)."""

    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint(f"media_type IN ({sql_values(EVIDENCE_TYPES)})", name="media_type_known"),
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
