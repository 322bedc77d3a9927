"""The outbox of events, webhook subscriptions and their deliveries, and the inbox of received events."""

from __future__ import annotations

import uuid

from sqlalchemy import Boolean, Index, String, Uuid
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
    """An event, with what the read rule needs to select it in SQL (``events.repository.visible_to``).

    ``directive_id`` is our document the event is about (NULL for a document received from a
    partner); ``unit_code`` is the one recipient unit it is about (every ``delivery.*`` event, NULL
    for an event about the whole document), or, for a received document, the unit it was sent to.
    Both are set at emit time (``events.service``), never from the payload afterwards."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_unit_code_sequence", "unit_code", "sequence"),)

    directive_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    unit_code: Mapped[str | None] = mapped_column(String(40), nullable=True)


class WebhookSubscription(WebhookSubscriptionMixin, Model):
    """``owner`` is the client (the token's ``sub``); with ``owner_unit`` it names who owns the
    subscription, and ``owner_roles`` the roles it subscribed with: an event goes to it only when
    that principal may see it (``events.visibility``). ``system`` rows come from the configuration
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
