"""Dispatch and delivery tracking, events (outbox, webhooks), exchange packages, records files."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from common.db import JSONType, UTCDateTime, utc_now
from common.outbox import (
    DeliveryAttemptMixin,
    DeliveryMixin,
    OutboxEventMixin,
    OutboxModels,
    ReceivedEventMixin,
    WebhookSubscriptionMixin,
)
from directive_api.models import Model

DELIVERY_STATUSES = ("sent", "01", "02", "03", "04", "05", "06", "13", "15", "16")
"""``sent`` by us; then the edXML status codes reported by the recipient (QCVN 102:2016)."""


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
    status: Mapped[str] = mapped_column(String(8), default="sent")
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    compliance_status: Mapped[str | None] = mapped_column(String(20))
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


class OutboxEvent(OutboxEventMixin, Model):
    __tablename__ = "outbox_events"


class WebhookSubscription(WebhookSubscriptionMixin, Model):
    """``owner`` is the client (the token's ``sub``); with ``owner_unit`` it names who owns the
    subscription, and ``owner_roles`` the roles it subscribed with: an event goes to it only when
    that principal could read the event's document. ``system`` rows come from the configuration
    (report-api): they receive every event and are shown to no one but the Office's admin."""

    __tablename__ = "webhook_subscriptions"

    owner_unit: Mapped[str | None] = mapped_column(String(40), index=True, nullable=True)
    owner_roles: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    system: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class WebhookDelivery(DeliveryMixin, Model):
    __tablename__ = "webhook_deliveries"


class WebhookDeliveryAttempt(DeliveryAttemptMixin, Model):
    __tablename__ = "webhook_delivery_attempts"


class ReceivedEvent(ReceivedEventMixin, Model):
    __tablename__ = "received_events"


OUTBOX = OutboxModels(OutboxEvent, WebhookSubscription, WebhookDelivery, WebhookDeliveryAttempt)
