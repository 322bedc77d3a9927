"""Stored PDFs of a document: the draft preview, the signer-signed file, the issued file."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from common.db import JSONType, UTCDateTime, utc_now
from directive_api.models import Model

FileKind = Literal["preview", "signed", "issued"]
"""A draft preview ("DỰ THẢO"), the file the signer signed, the issued (numbered, sealed) e-original."""


class DirectiveFile(Model):
    """One stored PDF of a document, with its SHA-256 (the file itself is in the file store)."""

    __tablename__ = "directive_files"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(kind) for kind in get_args(FileKind))})", name="kind_known"),
        Index("ix_directive_files_directive_kind", "directive_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    directive_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("directives.id"))
    kind: Mapped[FileKind] = mapped_column(String(10))
    directive_version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    page_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class PdfVerdict(Model):
    """The verification report of a registered PDF, made once and reused for the same bytes.

    Derived data, not part of the record: the row may be deleted at any time and is made again on
    the next verification. It holds only for the trust roots it was made with and until the first
    signing certificate expires (``valid_until``).
    """

    __tablename__ = "pdf_verdicts"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    trust_fingerprint: Mapped[str] = mapped_column(String(64))
    report: Mapped[dict[str, Any]] = mapped_column(JSONType)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
