"""The outbox of events, webhook subscriptions and their deliveries, and the inbox of received events."""

from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from common.db import JSONType
from common.outbox import (
    DeliveryAttemptMixin,
    DeliveryMixin,
    OutboxEventMixin,
    OutboxModels,
    ReceivedEventMixin,
    WebhookSubscriptionMixin,
)
from directive_api.models import Model


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
