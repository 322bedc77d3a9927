"""A signing request: a prepared revision waiting for the signer's signature."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from common.db import UTCDateTime, utc_now
from directive_api.models import Model

REQUEST_STATUSES = ("pending", "completed", "abandoned", "expired")


class SigningRequest(Model):
    """What the signer's client must sign, and what became of it.

    The prepared PDF (the signer's revision with an empty signature container) is in the file store
    under ``prepared_sha256``; the signature arrives for exactly these signed attributes.
    """

    __tablename__ = "signing_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'completed', 'abandoned', 'expired')", name="status_known"),
        CheckConstraint("mode IN ('client', 'remote')", name="mode_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    directive_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("directives.id"), index=True)
    signer_id: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    certificate_sha256: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the certificate the directory named for the signer when the request was made."""
    prepared_sha256: Mapped[str] = mapped_column(String(64))
    page_count: Mapped[int] = mapped_column(Integer)
    document_digest: Mapped[str] = mapped_column(String(64))
    """SHA-256 (hex) over the prepared file's byte range."""
    signed_attributes: Mapped[str] = mapped_column(Text)
    """The CMS signed attributes (DER of the SET, base64): the bytes the signer's key signs."""
    reserved_start: Mapped[int] = mapped_column(Integer)
    reserved_end: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
