"""Transactional outbox, webhook relay, receiver and pull feed (domain-free).

One concern a module; every public name is importable from ``common.outbox``:

========================  ====================================================================
``settings``              :class:`WebhookSettings` (the delivery policy in a service's settings)
``models``                table mixins, :class:`OutboxModels`, delivery states
``secrets``               endpoint secrets encrypted at rest (:func:`use_secret_keys`)
``ids``                   :func:`new_id`
``emit`` / ``wake``       the write side; relays woken at commit (:func:`register_session_listeners`)
``envelope`` / ``feed``   the JSON envelope and the pull feed
``subscriptions``         registration behind the SSRF guard, secret rotation, filters
``receiver``              verify, parse and de-duplicate an incoming webhook
``relay``                 sequencing, fan-out and delivery (:class:`Relay`)
``startup``               :func:`configure_outbox`, called once by each process at start-up
========================  ====================================================================

libs/common holds no tables: each service declares its own tables, in its own metadata, from the
mixins below, and hands the classes to :func:`emit`, :func:`feed` and :class:`Relay`::

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

Write side: :func:`emit` only adds a row to the caller's session, so the event commits or rolls
back with the business change (QUALITY.md §2.1).

**Sequencing.** ``sequence`` is the pull-feed cursor. It is *not* assigned at insert time: with an
identity column, transactions commit out of sequence order (T1 takes 41, T2 takes 42 and commits
first), and a reader that saw 42 and moved its cursor past 41 would never see 41. Instead
:meth:`Relay.fan_out` assigns ``max(sequence) + 1 …`` to committed, unsequenced events under a lock
(a transaction-scoped advisory lock on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` write lock), and
creates their deliveries in the same transaction. Sequences therefore become visible in increasing
order with no gaps, and fan-out needs no extra bookkeeping: an event is fanned out exactly when it
gets its sequence. The feed shows an event once the relay has sequenced it.

**Wake-up.** A transaction that emitted events wakes the relays when it commits instead of leaving
them to their next poll: ``NOTIFY`` on PostgreSQL (relays in any process listen on a dedicated
connection), and directly for relays in the same process (SQLite, embedded mode). These are session
listeners, registered explicitly at start-up (:func:`configure_outbox`: the services' ``create_app``
and every :class:`Relay` call it), not as a side effect of importing this package.
The poll interval remains the fallback (a lost notification, a listener being reconnected).

**Delivery** (QUALITY.md §2.4) is at-least-once: :meth:`Relay.deliver_due` claims due deliveries
with a lease (``claimed_until``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several relay
processes share the work), commits the claim, POSTs outside any transaction, then records the
outcome. A relay killed between claim and record leaves the delivery pending; another relay takes
it again when the lease expires. Receivers de-duplicate on ``webhook-id`` (= the event id), see
:func:`receive` and :func:`claim_received`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from common.lazy import lazy_attributes

if TYPE_CHECKING:
    from common.outbox.emit import emit
    from common.outbox.envelope import encode_envelope, envelope
    from common.outbox.feed import feed
    from common.outbox.ids import new_id
    from common.outbox.models import (
        DEAD,
        DELIVERED,
        PENDING,
        DeliveryAttemptMixin,
        DeliveryMixin,
        OutboxEventMixin,
        OutboxModels,
        ReceivedEventMixin,
        WebhookSubscriptionMixin,
    )
    from common.outbox.receiver import ReceivedWebhook, claim_received, receive
    from common.outbox.relay import PERMANENT_REFUSALS, Audience, Relay
    from common.outbox.secrets import use_secret_keys
    from common.outbox.settings import WebhookSettings
    from common.outbox.startup import configure_outbox
    from common.outbox.subscriptions import (
        create_subscription,
        ensure_subscription,
        event_matches,
        rotate_secret,
        subscription_view,
    )
    from common.outbox.wake import register_session_listeners, wake_channel

_SOURCES = {
    "emit": "common.outbox.emit",
    "encode_envelope": "common.outbox.envelope",
    "envelope": "common.outbox.envelope",
    "feed": "common.outbox.feed",
    "new_id": "common.outbox.ids",
    "DEAD": "common.outbox.models",
    "DELIVERED": "common.outbox.models",
    "PENDING": "common.outbox.models",
    "DeliveryAttemptMixin": "common.outbox.models",
    "DeliveryMixin": "common.outbox.models",
    "OutboxEventMixin": "common.outbox.models",
    "OutboxModels": "common.outbox.models",
    "ReceivedEventMixin": "common.outbox.models",
    "WebhookSubscriptionMixin": "common.outbox.models",
    "ReceivedWebhook": "common.outbox.receiver",
    "claim_received": "common.outbox.receiver",
    "receive": "common.outbox.receiver",
    "PERMANENT_REFUSALS": "common.outbox.relay",
    "Audience": "common.outbox.relay",
    "Relay": "common.outbox.relay",
    "use_secret_keys": "common.outbox.secrets",
    "WebhookSettings": "common.outbox.settings",
    "configure_outbox": "common.outbox.startup",
    "create_subscription": "common.outbox.subscriptions",
    "ensure_subscription": "common.outbox.subscriptions",
    "event_matches": "common.outbox.subscriptions",
    "rotate_secret": "common.outbox.subscriptions",
    "subscription_view": "common.outbox.subscriptions",
    "register_session_listeners": "common.outbox.wake",
    "wake_channel": "common.outbox.wake",
}
__getattr__ = lazy_attributes(__name__, _SOURCES)

__all__ = [
    "DEAD",
    "DELIVERED",
    "PENDING",
    "PERMANENT_REFUSALS",
    "Audience",
    "DeliveryAttemptMixin",
    "DeliveryMixin",
    "OutboxEventMixin",
    "OutboxModels",
    "ReceivedEventMixin",
    "ReceivedWebhook",
    "Relay",
    "WebhookSettings",
    "WebhookSubscriptionMixin",
    "claim_received",
    "configure_outbox",
    "create_subscription",
    "emit",
    "encode_envelope",
    "ensure_subscription",
    "envelope",
    "event_matches",
    "feed",
    "new_id",
    "receive",
    "register_session_listeners",
    "rotate_secret",
    "subscription_view",
    "use_secret_keys",
    "wake_channel",
]
