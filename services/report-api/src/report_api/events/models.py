"""Tables of the events: directive-api's events received (de-duplication, feed cursor) and report-api's
outbox with its webhook subscriptions and deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import Boolean, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from common.db import UTCDateTime, utc_now
from common.outbox import (
    DeliveryAttemptMixin,
    DeliveryMixin,
    OutboxEventMixin,
    OutboxModels,
    ReceivedEventMixin,
    WebhookSubscriptionMixin,
)
from report_api.models import Model

Channel = Literal["webhook", "feed", "dead_letter"]
"""How an event came: a webhook, the pull feed, or refused as unusable (dead-lettered, never applied)."""
DEAD_LETTER: Channel = "dead_letter"


class ReceivedEvent(ReceivedEventMixin, Model):
    """Events of directive-api already applied (webhook or feed) or dead-lettered: the de-duplication
    key that ``common.outbox.claim_received`` claims in the transaction of the effect."""

    __tablename__ = "received_events"

    channel: Mapped[Channel] = mapped_column(String(20))


class FeedCursor(Model):
    """How far the pull consumer has read a source's feed."""

    __tablename__ = "feed_cursors"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class OutboxEvent(OutboxEventMixin, Model):
    """Events of report-api, written in the transaction of the change; the relay sequences and delivers them.

    ``unit_code`` is the unit whose obligation the event is about (also in ``data``): the feed and
    the webhooks select what a reader may see with it in SQL (``events.repository.visible_to``)."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_unit_code_sequence", "unit_code", "sequence"),)

    unit_code: Mapped[str | None] = mapped_column(String(40), nullable=True)


class WebhookSubscription(WebhookSubscriptionMixin, Model):
    """``owner`` is the client (the token's ``sub``) and ``owner_unit`` its unit: together they name
    the owner, as in directive-api, so a client of the same name in another unit never sees or
    changes the subscription. The owner's unit also decides which events it receives (those of its
    unit's obligations; every event for the Office). ``system`` rows come from the configuration
    (directive-api's inbox): they receive every event."""

    __tablename__ = "webhook_subscriptions"

    owner_unit: Mapped[str | None] = mapped_column(String(40), index=True, nullable=True)
    system: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class WebhookDelivery(DeliveryMixin, Model):
    __tablename__ = "webhook_deliveries"


class WebhookDeliveryAttempt(DeliveryAttemptMixin, Model):
    __tablename__ = "webhook_delivery_attempts"


OUTBOX = OutboxModels(OutboxEvent, WebhookSubscription, WebhookDelivery, WebhookDeliveryAttempt)
