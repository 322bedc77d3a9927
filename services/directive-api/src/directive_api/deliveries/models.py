"""Deliveries to each recipient and their statuses, edXML packages sent and received, records files."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from common.db import UTCDateTime, utc_now
from directive_api.models import Model


class DeliveryStatus(StrEnum):
    """``sent`` by us; then the edXML status codes reported by the recipient (QCVN 102:2016)."""

    sent = "sent"
    arrived = "01"
    refused = "02"
    accepted = "03"
    assigned = "04"
    processing = "05"
    done = "06"
    recall_requested = "13"
    recall_agreed = "15"
    recall_refused = "16"


DELIVERY_STATUSES: tuple[str, ...] = tuple(s.value for s in DeliveryStatus)

ComplianceStatus = Literal["acknowledged", "submitted", "returned", "accepted", "overdue"]
"""The obligation's status as report-api reports it in its events."""


class Delivery(Model):
    """One recipient of a dispatched document, with its own status."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("directive_id", "unit_code"),
        CheckConstraint("role IN ('addressee', 'information')", name="role_known"),
        CheckConstraint("channel IN ('report_api', 'edxml', 'webhook')", name="channel_known"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in DELIVERY_STATUSES)})", name="status_known"),
        Index("ix_deliveries_unit_status", "unit_code", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    directive_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("directives.id"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    role: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(12))
    status: Mapped[DeliveryStatus] = mapped_column(
        # Stored as the code itself (VARCHAR, checked by ``status_known``), read back as the enum.
        Enum(
            DeliveryStatus,
            native_enum=False,
            create_constraint=False,
            length=8,
            values_callable=lambda statuses: [s.value for s in statuses],
        ),
        default=DeliveryStatus.sent,
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    compliance_status: Mapped[ComplianceStatus | None] = mapped_column(String(20))
    """The obligation's status as report-api last reported it (acknowledged, submitted, accepted …)."""
    compliance_sequence: Mapped[int | None] = mapped_column(BigInteger)
    """The ``sequence`` of the report-api event that set ``compliance_status``: an older event that
    arrives later (a retried delivery) does not overwrite a newer status."""
    reply_package_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class DeliveryStatusLog(Model):
    """Every status a delivery went through, and where it came from."""

    __tablename__ = "delivery_status_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deliveries.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class ExchangePackage(Model):
    """A raw edXML package sent or received, kept for the archive trail."""

    __tablename__ = "exchange_packages"
    __table_args__ = (CheckConstraint("direction IN ('in', 'out')", name="direction_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(20))
    """``document``, ``status``, ``revocation``, ``replacement``, ``reply``."""
    directive_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("directives.id"), index=True)
    sender_organ_id: Mapped[str | None] = mapped_column(String(35))
    status_code: Mapped[str | None] = mapped_column(String(2))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    """An incoming status package's bytes (a few kilobytes, durable with the row that records it);
    every other package is in the file store under ``sha256``."""
    summary: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    """For incoming status packages: the same status (sender, document, code, Timestamp, description)
    received again is recorded once."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class RecordsFile(Model):
    """A records file (hồ sơ) that archived documents are filed into (FileCode of Decree 30)."""

    __tablename__ = "records_files"
    __table_args__ = (UniqueConstraint("issuer_code", "year", "file_notation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issuer_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    organ_id: Mapped[str | None] = mapped_column(String(35))
    year: Mapped[int] = mapped_column(Integer)
    file_notation: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(500))
    retention: Mapped[str] = mapped_column(String(30))
    """``5 năm``, ``10 năm``, ``20 năm``, ``Vĩnh viễn`` …"""
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
