"""Test-only outbox tables and relay settings (light: imported by the relay worker processes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import DeclarativeBase

from common.db import new_metadata
from common.outbox import (
    DeliveryAttemptMixin,
    DeliveryMixin,
    OutboxEventMixin,
    OutboxModels,
    ReceivedEventMixin,
    WebhookSettings,
    WebhookSubscriptionMixin,
)


class Base(DeclarativeBase):
    metadata = new_metadata()


class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "outbox_events"


class WebhookSubscription(WebhookSubscriptionMixin, Base):
    __tablename__ = "webhook_subscriptions"


class WebhookDelivery(DeliveryMixin, Base):
    __tablename__ = "webhook_deliveries"


class WebhookDeliveryAttempt(DeliveryAttemptMixin, Base):
    __tablename__ = "webhook_delivery_attempts"


class ReceivedEvent(ReceivedEventMixin, Base):
    __tablename__ = "received_events"


MODELS = OutboxModels(OutboxEvent, WebhookSubscription, WebhookDelivery, WebhookDeliveryAttempt)


def relay_settings(**overrides: Any) -> WebhookSettings:
    """Fast settings for tests: receiver on 127.0.0.1 (allow-listed), deterministic back-off."""
    values: dict[str, Any] = {
        "allow_hosts": ["http://127.0.0.1:*"],  # the receiver's port changes from test to test
        "max_attempts": 5,
        "timeout_seconds": 2.0,
        "lease_seconds": 5.0,
        "backoff_base_seconds": 1.0,
        "backoff_cap_seconds": 60.0,
        "backoff_jitter": False,
        "batch_size": 10,
        "poll_interval_seconds": 0.05,
    }
    values.update(overrides)
    return WebhookSettings(**values)
