"""Column mixins of the outbox tables each service declares in its own metadata, and the delivery states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from common.db import JSONType, UTCDateTime, utc_now
from common.outbox.secrets import EncryptedSecrets

__all__ = [
    "DEAD",
    "DELIVERED",
    "PENDING",
    "DeliveryAttemptMixin",
    "DeliveryMixin",
    "OutboxEventMixin",
    "OutboxModels",
    "ReceivedEventMixin",
    "WebhookSubscriptionMixin",
]

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"


class OutboxEventMixin:
    """Columns of a service's outbox table (one row per event; never updated except ``sequence``)."""

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sequence: Mapped[int | None] = mapped_column(BigInteger, unique=True, nullable=True)
    type: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(255))
    data: Mapped[Any] = mapped_column(JSONType)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class WebhookSubscriptionMixin:
    """Columns of a service's webhook subscriptions.

    ``secrets`` holds the endpoint secrets, newest first; all of them sign each delivery, so a
    receiver can switch keys during a rotation. HMAC needs them in clear, so they are encrypted at
    rest when a key is configured (:func:`use_secret_keys`); never return them after creation, see
    :func:`subscription_view`.
    """

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(JSONType)
    secrets: Mapped[list[str]] = mapped_column(EncryptedSecrets)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class DeliveryMixin:
    """Columns of a service's deliveries: one row per (event, subscription)."""

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    subscription_id: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        table = getattr(cls, "__tablename__", "deliveries")
        return (
            UniqueConstraint("event_id", "subscription_id"),
            Index(f"ix_{table}_due", "status", "next_attempt_at"),
        )


class DeliveryAttemptMixin:
    """Columns of the attempt log: one row per POST (or refused attempt)."""

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(40), index=True)
    event_id: Mapped[str] = mapped_column(String(40))
    subscription_id: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReceivedEventMixin:
    """Columns of a receiver's ``received_events`` table (webhook-ids already applied)."""

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    source: Mapped[str | None] = mapped_column(String(100), nullable=True)
    type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


E = TypeVar("E", bound=OutboxEventMixin)
S = TypeVar("S", bound=WebhookSubscriptionMixin)
R = TypeVar("R", bound=ReceivedEventMixin)


@dataclass(frozen=True, slots=True)
class OutboxModels:
    """The four mapped classes a relay works on."""

    event: type[OutboxEventMixin]
    subscription: type[WebhookSubscriptionMixin]
    delivery: type[DeliveryMixin]
    attempt: type[DeliveryAttemptMixin]
