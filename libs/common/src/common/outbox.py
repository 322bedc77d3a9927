"""Transactional outbox, webhook relay, receiver and pull feed (domain-free).

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
connection), and directly for relays in the same process (SQLite, embedded mode). The
poll interval remains the fallback (a lost notification, a listener being reconnected).

**Delivery** (QUALITY.md §2.4) is at-least-once: :meth:`Relay.deliver_due` claims due deliveries
with a lease (``claimed_until``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several relay
processes share the work), commits the claim, POSTs outside any transaction, then records the
outcome. A relay killed between claim and record leaves the delivery pending; another relay takes
it again when the lease expires. Receivers de-duplicate on ``webhook-id`` (= the event id), see
:func:`receive` and :func:`claim_received`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import BaseModel, Field, SecretStr, field_validator
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

from common.db import JSONType, UTCDateTime, advisory_lock_async, transaction, utc_now
from common.http_tracing import traced_async_client
from common.webhooks import (
    DeliveryResult,
    Resolver,
    UnsafeUrlError,
    backoff_delay,
    check_webhook_url,
    deliver,
    generate_secret,
    signature_headers,
    verify,
)

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
    "create_subscription",
    "emit",
    "encode_envelope",
    "ensure_subscription",
    "envelope",
    "event_matches",
    "feed",
    "new_id",
    "receive",
    "rotate_secret",
    "subscription_view",
    "use_secret_keys",
]

logger = logging.getLogger(__name__)

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"

PERMANENT_REFUSALS = frozenset({400, 413, 415, 422})
"""Receiver answers that no retry can change (the event itself is refused): dead-lettered at once.
The dead letter keeps the start of the receiver's answer as its reason; the ``outbox_dead_letters``
gauge counts it and an error is logged. Every other failure is retried with back-off."""

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str) -> str:
    """A sortable unique id: ``<prefix>_`` followed by a ULID (48-bit ms time + 80 random bits).

    Args:
        prefix: ``evt``, ``sub``, ``dlv``, ``att`` …

    Returns:
        e.g. ``evt_01JD3Q…`` (26 Crockford base32 characters after the underscore).
    """
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


# --- settings ----------------------------------------------------------------------------------


class WebhookSettings(BaseModel):
    """Outgoing webhook policy; include it in a service's settings (e.g. ``webhooks: WebhookSettings``).

    Attributes:
        allow_hosts: Admin-registered hosts that may use plain http and private addresses
            (see :func:`common.webhooks.check_webhook_url`).
        allow_private: Accept RFC 1918 / ULA addresses for any host (on-premises deployments).
        secrets_keys: Keys that encrypt endpoint secrets at rest (see :func:`use_secret_keys`).
        max_attempts: Attempts before a delivery is dead-lettered.
        timeout_seconds: Budget of one attempt.
        lease_seconds: How long a claim lasts; must exceed ``timeout_seconds`` plus recording.
        backoff_base_seconds: Ceiling of the first retry delay.
        backoff_cap_seconds: Largest retry delay.
        backoff_jitter: Full jitter (draw the delay from ``[0, ceiling]``).
        batch_size: Deliveries claimed (and sent concurrently) per batch.
        poll_interval_seconds: Sleep of the worker loop when nothing was due.
    """

    allow_hosts: list[str] = Field(default_factory=list)
    allow_private: bool = False
    secrets_keys: list[SecretStr] = Field(default_factory=list)
    """Fernet keys (``Fernet.generate_key()``) that encrypt endpoint secrets at rest: the first
    encrypts, every one decrypts (rotation: put the new key first, keep the old one until every row
    was rewritten). Without a key, secrets are stored in clear."""

    @field_validator("secrets_keys")
    @classmethod
    def _fernet_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for key in keys:
            try:
                Fernet(key.get_secret_value())
            except ValueError:
                raise ValueError("each secrets key must be 32 url-safe base64-encoded bytes (a Fernet key)") from None
        return keys

    max_attempts: int = Field(default=10, ge=1, le=100)
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    lease_seconds: float = Field(default=60.0, gt=0)
    backoff_base_seconds: float = Field(default=5.0, gt=0)
    backoff_cap_seconds: float = Field(default=6 * 3600.0, gt=0)
    backoff_jitter: bool = True
    batch_size: int = Field(default=20, ge=1, le=500)
    poll_interval_seconds: float = Field(default=1.0, gt=0)


# --- table mixins ------------------------------------------------------------------------------


class OutboxEventMixin:
    """Columns of a service's outbox table (one row per event; never updated except ``sequence``)."""

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sequence: Mapped[int | None] = mapped_column(BigInteger, unique=True, nullable=True)
    type: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(255))
    data: Mapped[Any] = mapped_column(JSONType)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


_ENCRYPTED = "enc:v1:"
_SECRET_KEYS: list[str] = []


def use_secret_keys(keys: Sequence[str]) -> None:
    """Encrypt endpoint secrets at rest with ``keys[0]``; decrypt with any key given so far.

    Process-wide (the column type has no other way to reach the configuration): each service
    calls it at start-up with ``WebhookSettings.secrets_keys``. An empty list changes nothing, so
    the keys of one configuration are never dropped by a later default.
    """
    for key in keys:
        Fernet(key)  # ValueError for a malformed key
    _SECRET_KEYS[:] = [*keys, *[k for k in _SECRET_KEYS if k not in keys]]


def _seal(secret: str) -> str:
    if not _SECRET_KEYS or secret.startswith(_ENCRYPTED):
        return secret
    return _ENCRYPTED + Fernet(_SECRET_KEYS[0]).encrypt(secret.encode()).decode("ascii")


def _open(stored: str) -> str:
    if not stored.startswith(_ENCRYPTED):
        return stored  # written before a key was configured: read as is, encrypted when next written
    if not _SECRET_KEYS:
        raise RuntimeError("webhook secrets are encrypted at rest: configure WEBHOOKS__SECRETS_KEYS")
    try:
        return MultiFernet([Fernet(k) for k in _SECRET_KEYS]).decrypt(stored[len(_ENCRYPTED) :].encode()).decode()
    except InvalidToken:
        raise RuntimeError("a webhook secret cannot be decrypted with the configured WEBHOOKS__SECRETS_KEYS") from None


class EncryptedSecrets(TypeDecorator[list[str]]):
    """A JSON list of secrets, each encrypted (Fernet) when a key is configured; clear in Python."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: list[str] | None, dialect: Dialect) -> list[str] | None:  # noqa: ARG002
        return None if value is None else [_seal(s) for s in value]

    def process_result_value(self, value: list[str] | None, dialect: Dialect) -> list[str] | None:  # noqa: ARG002
        return None if value is None else [_open(s) for s in value]


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


# --- write side --------------------------------------------------------------------------------


def emit(
    session: AsyncSession,
    model: type[E],
    *,
    type: str,  # noqa: A002 - the envelope's field name
    subject: str,
    data: Mapping[str, Any],
    source: str,
    occurred_at: datetime | None = None,
) -> E:
    """Add an event to the caller's session: it commits or rolls back with the business change.

    Args:
        session: The session of the business transaction.
        model: The service's outbox class (a subclass of :class:`OutboxEventMixin`).
        type: Event type, e.g. ``directive.dispatched``.
        subject: Id of the resource the event is about.
        data: JSON-serialisable payload (checked now, so a bad payload fails the business
            transaction rather than the relay).
        source: The emitting service, e.g. ``directive-api``.
        occurred_at: When it happened; now when omitted.

    Returns:
        The new (pending, unsequenced) event row.

    Raises:
        TypeError: If ``data`` is not JSON-serialisable.
    """
    payload = json.loads(json.dumps(dict(data), ensure_ascii=False, allow_nan=False))
    event = model()
    event.id = new_id("evt")
    event.type = type
    event.subject = subject
    event.source = source
    event.data = payload
    event.occurred_at = occurred_at or utc_now()
    event.sequence = None
    session.add(event)
    session.sync_session.info.setdefault(_PENDING_CHANNELS, set()).add(wake_channel(model))
    return event


_PENDING_CHANNELS = "common.outbox.wake_channels"
_LISTENER_PROBE_SECONDS = 30.0
_local_waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}


def wake_channel(model: type[OutboxEventMixin]) -> str:
    """The ``NOTIFY`` channel of an outbox table (one per table; notifications are per database)."""
    return f"outbox_{model.__tablename__}"  # type: ignore[attr-defined]


@event.listens_for(Session, "before_commit")
def _notify_relays(session: Session) -> None:
    channels = session.info.get(_PENDING_CHANNELS)
    if channels and session.get_bind().dialect.name == "postgresql":
        for channel in sorted(channels):  # delivered by PostgreSQL only if the commit succeeds
            session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


@event.listens_for(Session, "after_commit")
def _wake_local_relays(session: Session) -> None:
    for channel in session.info.pop(_PENDING_CHANNELS, ()):
        for loop, wake in list(_local_waiters.get(channel, ())):
            if not loop.is_closed():
                loop.call_soon_threadsafe(wake.set)


@event.listens_for(Session, "after_rollback")
def _forget_channels(session: Session) -> None:
    session.info.pop(_PENDING_CHANNELS, None)


def _rfc3339(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(event: OutboxEventMixin) -> dict[str, Any]:
    """The JSON envelope of ``docs/events.md`` for one event.

    Args:
        event: A sequenced event row.

    Returns:
        ``{"id", "type", "occurred_at", "source", "subject", "sequence", "data"}``.
    """
    return {
        "id": event.id,
        "type": event.type,
        "occurred_at": _rfc3339(event.occurred_at),
        "source": event.source,
        "subject": event.subject,
        "sequence": event.sequence,
        "data": event.data,
    }


def encode_envelope(event: OutboxEventMixin) -> bytes:
    """The exact body POSTed (and signed) for ``event``: compact UTF-8 JSON."""
    return json.dumps(envelope(event), ensure_ascii=False, separators=(",", ":")).encode()


# --- subscriptions -----------------------------------------------------------------------------


def _event_types(event_types: Sequence[str]) -> list[str]:
    types = [t.strip() for t in event_types]
    if not types or any(not t for t in types):
        raise ValueError("event_types must be a non-empty list of types ('*' for all)")
    return types


async def _checked_url(url: str, settings: WebhookSettings, resolver: Resolver | None) -> str:
    # Every writer of a subscription passes through here: the configured keys are in use from now on.
    use_secret_keys([k.get_secret_value() for k in settings.secrets_keys])
    checked = await asyncio.to_thread(
        check_webhook_url,
        url,
        allow_hosts=settings.allow_hosts,
        allow_private=settings.allow_private,
        resolver=resolver,
    )
    return checked.url


async def create_subscription(
    session: AsyncSession,
    model: type[S],
    *,
    owner: str,
    url: str,
    event_types: Sequence[str],
    settings: WebhookSettings,
    secret: str | None = None,
    resolver: Resolver | None = None,
) -> tuple[S, str]:
    """Register an endpoint after the SSRF check; returns the row and its secret (shown once).

    Args:
        session: The caller's session (the row is added, not committed).
        model: The service's subscription class.
        owner: The principal that owns it (e.g. ``integration:vnpt-ioffice``).
        url: The endpoint; checked with :func:`common.webhooks.check_webhook_url`.
        event_types: Types to receive; ``*`` for all, ``prefix.*`` for a family.
        settings: ``allow_hosts`` and ``allow_private`` come from here.
        secret: An existing ``whsec_`` secret; a new one is generated when omitted.
        resolver: DNS resolver override (tests).

    Returns:
        ``(subscription, secret)``.

    Raises:
        UnsafeUrlError: If the URL is refused.
        ValueError: If ``event_types`` is empty or holds a blank entry.
    """
    types = _event_types(event_types)
    subscription = _new_subscription(model, owner, await _checked_url(url, settings, resolver), types, secret)
    session.add(subscription)
    return subscription, subscription.secrets[0]


def _new_subscription(model: type[S], owner: str, checked_url: str, types: list[str], secret: str | None) -> S:
    secret = secret or generate_secret()
    signature_headers(secret, "probe", b"")  # validates the secret's format
    subscription = model()
    subscription.id = new_id("sub")
    subscription.owner = owner
    subscription.url = checked_url
    subscription.event_types = types
    subscription.secrets = [secret]
    subscription.active = True
    subscription.created_at = utc_now()
    return subscription


async def ensure_subscription(
    session: AsyncSession,
    model: type[S],
    *,
    owner: str,
    url: str,
    event_types: Sequence[str],
    settings: WebhookSettings,
    secret: str,
    resolver: Resolver | None = None,
) -> S:
    """Create, or bring up to date, the subscription a service's configuration names (idempotent).

    Every worker replica calls this at start-up, often at the same moment. The callers take turns
    on a transaction-scoped lock (advisory on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` write lock),
    so there is one row per ``(owner, url)`` however many start together: two rows would deliver
    every event twice. The oldest row is kept and any later duplicate deactivated. The kept row
    gets the configured event types, is reactivated, and gets ``secret`` first in its secrets (the
    previous one keeps signing during the rotation).

    Args:
        session: A session inside the caller's transaction.
        model: The service's subscription class.
        owner: The configured owner (e.g. ``report-api``).
        url: The endpoint; checked with :func:`common.webhooks.check_webhook_url`.
        event_types: Types to receive.
        settings: ``allow_hosts`` and ``allow_private`` come from here.
        secret: The configured ``whsec_`` secret.
        resolver: DNS resolver override (tests).

    Returns:
        The subscription row.

    Raises:
        UnsafeUrlError: If the URL is refused.
        ValueError: If ``event_types`` is empty or holds a blank entry.
    """
    types = _event_types(event_types)
    await advisory_lock_async(session, f"subscriptions:{model.__tablename__}")  # type: ignore[attr-defined]
    checked_url = await _checked_url(url, settings, resolver)
    rows = (
        await session.scalars(
            select(model).where(model.owner == owner, model.url == checked_url).order_by(model.created_at, model.id)
        )
    ).all()
    if not rows:
        created = _new_subscription(model, owner, checked_url, types, secret)
        session.add(created)
        return created
    existing, *duplicates = rows
    for duplicate in duplicates:  # left by replicas that raced before this lock existed
        duplicate.active = False
    if existing.secrets[:1] != [secret]:
        rotate_secret(existing, secret=secret)
    existing.event_types = types
    existing.active = True
    return existing


def rotate_secret(subscription: WebhookSubscriptionMixin, *, keep: int = 2, secret: str | None = None) -> str:
    """Put a new secret first; older ones keep signing until dropped (``keep`` in total).

    Args:
        subscription: The row to change (in the caller's session).
        keep: How many secrets stay active, newest first (>= 1).
        secret: The new ``whsec_`` secret (a configured one); generated when omitted.

    Returns:
        The new secret (shown once).
    """
    new = secret or generate_secret()
    signature_headers(new, "probe", b"")  # validates the secret's format
    subscription.secrets = [new, *[s for s in subscription.secrets if s != new]][: max(1, keep)]
    return new


def _mask(secret: str) -> str:
    return f"{secret[:10]}…"


def subscription_view(subscription: WebhookSubscriptionMixin, *, secret_prefixes: bool = True) -> dict[str, Any]:
    """A subscription as an API may return it: secrets reduced to a recognisable prefix (for its
    owner; ``secret_prefixes=False`` leaves them out for anyone else)."""
    view = {
        "id": subscription.id,
        "owner": subscription.owner,
        "url": subscription.url,
        "event_types": list(subscription.event_types),
        "secrets": [_mask(s) for s in subscription.secrets],
        "active": subscription.active,
        "created_at": _rfc3339(subscription.created_at),
    }
    if not secret_prefixes:
        del view["secrets"]
    return view


def event_matches(event_types: Collection[str], event_type: str) -> bool:
    """Whether a subscription filter (``*``, ``prefix.*`` or exact types) selects ``event_type``."""
    for pattern in event_types:
        if pattern in ("*", event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


# --- pull feed ---------------------------------------------------------------------------------


async def feed(session: AsyncSession, model: type[E], *, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Events with ``sequence > after``, in sequence order, as envelopes.

    Only sequenced events are returned (see the module docstring); the cursor never skips one.

    Args:
        session: Any session.
        model: The service's outbox class.
        after: The cursor returned by the previous call (0 at the start).
        limit: Page size, clamped to 1..1000.

    Returns:
        ``(envelopes, next_cursor)``; ``next_cursor == after`` when there is nothing new.
    """
    limit = max(1, min(int(limit), 1000))
    rows = (
        await session.scalars(
            select(model)
            .where(model.sequence.is_not(None), model.sequence > max(0, int(after)))
            .order_by(model.sequence)
            .limit(limit)
        )
    ).all()
    items = [envelope(row) for row in rows]
    next_cursor = rows[-1].sequence if rows else after
    return items, int(next_cursor if next_cursor is not None else after)


# --- receiver ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceivedWebhook:
    """A verified incoming event.

    Attributes:
        msg_id: The ``webhook-id`` (= the event id).
        timestamp: The ``webhook-timestamp``.
        event: The parsed envelope.
        duplicate: True if ``seen`` reported it processed: acknowledge (2xx) and do nothing.
    """

    msg_id: str
    timestamp: int
    event: dict[str, Any]
    duplicate: bool


async def receive(
    request_headers: Mapping[str, str],
    body: bytes,
    secrets: str | Sequence[str],
    seen: Callable[[str], Awaitable[bool]],
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> ReceivedWebhook:
    """Verify an incoming webhook and tell whether it was already processed.

    Pass the *raw* body. ``seen(msg_id)`` runs only after the signature verified; the
    recommended ``seen`` is ``lambda i: claim_received(session, Model, i)`` negated, i.e. a claim in
    the same transaction that applies the event (see :func:`claim_received`).

    Args:
        request_headers: The request headers (case-insensitive names).
        body: The raw request body.
        secrets: The sender's secret(s) (several during a rotation).
        seen: Async callable: True if this webhook-id was already processed.
        tolerance_seconds: Allowed clock distance (replay protection).
        now: Unix time override (tests).

    Returns:
        The verified message with its envelope and the ``duplicate`` flag.

    Raises:
        common.webhooks.WebhookVerificationError: Bad or missing signature, stale timestamp.
        ValueError: The body is not a JSON object or its ``id`` differs from the webhook-id.
    """
    verified = verify(secrets, request_headers, body, tolerance_seconds=tolerance_seconds, now=now)
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"webhook body is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise ValueError("webhook body is not a JSON object")
    if event.get("id", verified.msg_id) != verified.msg_id:
        raise ValueError("envelope id differs from webhook-id")
    duplicate = await seen(verified.msg_id)
    return ReceivedWebhook(verified.msg_id, verified.timestamp, event, duplicate)


async def claim_received(
    session: AsyncSession,
    model: type[R],
    event_id: str,
    *,
    source: str | None = None,
    type: str | None = None,  # noqa: A002 - the envelope's field name
) -> bool:
    """Record ``event_id`` as processed in the caller's transaction; False if it already was.

    ``INSERT … ON CONFLICT DO NOTHING``: a concurrent duplicate waits for the first transaction
    and then sees the conflict, so apply the event only when this returns True, in the same
    transaction. If that transaction rolls back, the claim goes with it and a retry applies it.

    Args:
        session: The transaction that applies the event.
        model: The service's ``received_events`` class.
        event_id: The webhook-id.
        source: Optional envelope ``source``, kept for operators.
        type: Optional envelope ``type``.

    Returns:
        True if this is the first time (apply it), False for a duplicate.
    """
    values = {"event_id": event_id, "source": source, "type": type, "received_at": utc_now()}
    table = model.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = pg_dialect.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite_dialect.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported databases
        raise ValueError(f"unsupported database {dialect!r}: PostgreSQL and SQLite are supported")
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0) == 1)


# --- relay -------------------------------------------------------------------------------------


Audience = Callable[
    [AsyncSession, Sequence[tuple[str, str, str]], Sequence[str]], Awaitable[Collection[tuple[str, str]]]
]
"""A service's visibility rule for webhooks: ``(session, [(event id, type, subject)], [subscription
id]) -> the (event id, subscription id) pairs that may be delivered``. Called at fan-out, in its
transaction; an event not allowed to a subscription gets no delivery at all (not a dead one)."""


@dataclass(frozen=True, slots=True)
class _Claimed:
    delivery_id: str
    event_id: str
    subscription_id: str
    attempts: int
    token: str


class Relay:
    """Fans events out to subscriptions and delivers them (one or several processes).

    Use as ``async with Relay(...) as relay`` (or call :meth:`aclose`); run :meth:`run_forever`
    in a worker process, or :meth:`step` from a scheduler.
    """

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        models: OutboxModels,
        settings: WebhookSettings | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        resolver: Resolver | None = None,
        rng: random.Random | None = None,
        fan_out_batch: int = 500,
        audience: Audience | None = None,
    ) -> None:
        """Create a relay.

        Args:
            maker: Session factory of the service's database.
            models: The service's outbox tables.
            settings: Delivery policy; defaults when omitted.
            client: Shared HTTP client; one is created (and closed by :meth:`aclose`) if omitted.
            resolver: DNS resolver override for the per-delivery SSRF check (tests).
            rng: Random source for the back-off jitter.
            fan_out_batch: Events sequenced per :meth:`fan_out` call.
            audience: The service's visibility rule: which (event, subscription) pairs may be
                delivered, beyond the subscription's event types. Every pair when omitted.

        Raises:
            ValueError: If the lease is not longer than the attempt timeout.
        """
        self.maker = maker
        self.models = models
        self.settings = settings or WebhookSettings()
        use_secret_keys([k.get_secret_value() for k in self.settings.secrets_keys])
        if self.settings.lease_seconds <= self.settings.timeout_seconds:
            raise ValueError("lease_seconds must exceed timeout_seconds")
        self._own_client = client is None
        self.client = client or traced_async_client(follow_redirects=False)
        self.resolver = resolver
        self.rng = rng
        self.fan_out_batch = fan_out_batch
        self.audience = audience
        self._lock_name = f"outbox:{models.event.__tablename__}"  # type: ignore[attr-defined]

    async def __aenter__(self) -> Relay:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if the relay created it."""
        if self._own_client:
            await self.client.aclose()

    # fan-out ----------------------------------------------------------------------------------

    async def fan_out(self, session: AsyncSession, now: datetime | None = None) -> int:
        """Sequence newly committed events and create their pending deliveries, atomically.

        Runs in the caller's transaction; takes the outbox lock (advisory lock on PostgreSQL,
        the write lock on SQLite) so concurrent relays sequence one after the other.

        Args:
            session: A session inside a transaction (commit it to publish the result).
            now: First ``next_attempt_at`` of the new deliveries; now when omitted.

        Returns:
            How many events were sequenced (0 when none were waiting).
        """
        m = self.models
        now = now or utc_now()
        await advisory_lock_async(session, self._lock_name)
        events = (
            await session.execute(
                select(m.event.id, m.event.type, m.event.subject)
                .where(m.event.sequence.is_(None))
                .order_by(m.event.occurred_at, m.event.id)
                .limit(self.fan_out_batch)
            )
        ).all()
        if not events:
            return 0
        last = (await session.scalar(select(func.max(m.event.sequence)))) or 0
        await session.execute(
            update(m.event),
            [{"id": event_id, "sequence": last + i} for i, (event_id, _type, _subject) in enumerate(events, start=1)],
        )
        subscriptions = (
            await session.execute(
                select(m.subscription.id, m.subscription.event_types).where(m.subscription.active.is_(True))
            )
        ).all()
        pairs = [
            (event_id, sub_id)
            for event_id, event_type, _subject in events
            for sub_id, types in subscriptions
            if event_matches(types, event_type)
        ]
        if pairs and self.audience is not None:
            allowed = set(
                await self.audience(
                    session,
                    [(e.id, e.type, e.subject) for e in events],
                    sorted({sub_id for _event_id, sub_id in pairs}),
                )
            )
            pairs = [pair for pair in pairs if pair in allowed]
        rows = [
            {
                "id": new_id("dlv"),
                "event_id": event_id,
                "subscription_id": sub_id,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for event_id, sub_id in pairs
        ]
        if rows:
            await session.execute(insert(m.delivery), rows)
        return len(events)

    # delivery ---------------------------------------------------------------------------------

    async def _claim(self, now: datetime) -> list[_Claimed]:
        d = self.models.delivery
        token = uuid.uuid4().hex
        async with transaction(self.maker) as session:
            rows = (
                await session.execute(
                    select(d.id, d.event_id, d.subscription_id, d.attempts)
                    .where(
                        d.status == PENDING,
                        d.next_attempt_at <= now,
                        or_(d.claimed_until.is_(None), d.claimed_until <= now),
                    )
                    .order_by(d.next_attempt_at, d.id)
                    .limit(self.settings.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return []
            await session.execute(
                update(d)
                .where(d.id.in_([r.id for r in rows]))
                .values(claimed_until=now + timedelta(seconds=self.settings.lease_seconds), claim_token=token)
            )
        return [_Claimed(r.id, r.event_id, r.subscription_id, r.attempts, token) for r in rows]

    async def deliver_due(self, now: datetime | None = None) -> int:
        """Claim due deliveries, POST them concurrently and record every outcome.

        Args:
            now: The relay's clock for due-ness, leases and back-off; now when omitted.

        Returns:
            The number of attempts made (0 when nothing was due).
        """
        now = now or utc_now()
        claimed = await self._claim(now)
        if not claimed:
            return 0
        m = self.models
        async with self.maker() as session:
            events = {
                e.id: e
                for e in (
                    await session.scalars(select(m.event).where(m.event.id.in_({c.event_id for c in claimed})))
                ).all()
            }
            subs = {
                s.id: s
                for s in (
                    await session.scalars(
                        select(m.subscription).where(m.subscription.id.in_({c.subscription_id for c in claimed}))
                    )
                ).all()
            }
        await asyncio.gather(
            *(self._attempt(c, events.get(c.event_id), subs.get(c.subscription_id), now) for c in claimed)
        )
        return len(claimed)

    async def _attempt(
        self,
        claimed: _Claimed,
        event: OutboxEventMixin | None,
        subscription: WebhookSubscriptionMixin | None,
        now: datetime,
    ) -> None:
        if event is None or subscription is None or not subscription.active:
            result = DeliveryResult(ok=False, status_code=None, latency_seconds=0.0, error="subscription inactive")
            await self._record(claimed, result, now, give_up=True)
            return
        try:
            await asyncio.to_thread(
                check_webhook_url,
                subscription.url,
                allow_hosts=self.settings.allow_hosts,
                allow_private=self.settings.allow_private,
                resolver=self.resolver,
            )
        except UnsafeUrlError as exc:
            result = DeliveryResult(ok=False, status_code=None, latency_seconds=0.0, error=f"unsafe URL: {exc}")
            await self._record(claimed, result, now)
            return
        body = encode_envelope(event)
        headers = signature_headers(subscription.secrets, event.id, body)
        headers["content-type"] = "application/json"
        headers["user-agent"] = f"outbox-relay ({event.source})"
        result = await deliver(self.client, subscription.url, body, headers, timeout=self.settings.timeout_seconds)
        await self._record(claimed, result, now, gone=result.endpoint_gone)

    async def _record(
        self, claimed: _Claimed, result: DeliveryResult, now: datetime, *, give_up: bool = False, gone: bool = False
    ) -> None:
        m = self.models
        d = m.delivery
        attempt_no = claimed.attempts + 1
        at = utc_now()
        async with transaction(self.maker) as session:
            attempt = m.attempt()
            attempt.id = new_id("att")
            attempt.delivery_id = claimed.delivery_id
            attempt.event_id = claimed.event_id
            attempt.subscription_id = claimed.subscription_id
            attempt.attempt = attempt_no
            attempt.at = at
            attempt.status_code = result.status_code
            attempt.latency_ms = round(result.latency_seconds * 1000)
            attempt.error = result.error
            attempt.response_body = result.response_body[:1000] or None
            session.add(attempt)
            common: dict[str, Any] = {
                "attempts": attempt_no,
                "last_status_code": result.status_code,
                "last_error": result.error,
                "claimed_until": None,
                "claim_token": None,
            }
            if result.ok:
                # Delivered is final whoever holds the claim now: the receiver has it.
                await session.execute(
                    update(d)
                    .where(d.id == claimed.delivery_id, d.status == PENDING)
                    .values(status=DELIVERED, delivered_at=at, **common)
                )
                return
            refused = result.status_code in PERMANENT_REFUSALS
            if refused:
                # The receiver understood the request and will never accept this event (a poison
                # event): retrying would only hide it. Dead-letter it now with the receiver's reason.
                common["last_error"] = f"{result.error}: {result.response_body[:500]}".rstrip(": ")
            if give_up or gone or refused or attempt_no >= self.settings.max_attempts:
                values: dict[str, Any] = {"status": DEAD, **common}
            else:
                delay = backoff_delay(
                    attempt_no - 1,
                    base=self.settings.backoff_base_seconds,
                    cap=self.settings.backoff_cap_seconds,
                    jitter=self.settings.backoff_jitter,
                    rng=self.rng,
                )
                delay = max(delay, min(result.retry_after_seconds or 0.0, self.settings.backoff_cap_seconds))
                values = {"next_attempt_at": now + timedelta(seconds=delay), **common}
            await session.execute(
                update(d).where(d.id == claimed.delivery_id, d.claim_token == claimed.token).values(**values)
            )
            if gone:
                await session.execute(
                    update(m.subscription).where(m.subscription.id == claimed.subscription_id).values(active=False)
                )
            if values.get("status") == DEAD:
                logger.error(
                    "webhook delivery %s of event %s dead-lettered after attempt %d: %s",
                    claimed.delivery_id,
                    claimed.event_id,
                    attempt_no,
                    common["last_error"],
                )
            else:
                logger.warning(
                    "webhook delivery %s attempt %d failed: %s", claimed.delivery_id, attempt_no, result.error
                )

    async def replay(
        self, *, delivery_id: str | None = None, event_id: str | None = None, now: datetime | None = None
    ) -> int:
        """Requeue dead or delivered deliveries (one delivery, or every delivery of an event).

        The attempt counter restarts at 0; the attempt log keeps the history.

        Args:
            delivery_id: One delivery.
            event_id: Every delivery of this event.
            now: When they become due; now when omitted.

        Returns:
            The number of deliveries requeued.

        Raises:
            ValueError: Unless exactly one of ``delivery_id`` / ``event_id`` is given.
        """
        if (delivery_id is None) == (event_id is None):
            raise ValueError("give exactly one of delivery_id or event_id")
        d = self.models.delivery
        target = d.id == delivery_id if delivery_id is not None else d.event_id == event_id
        async with transaction(self.maker) as session:
            result = await session.execute(
                update(d)
                .where(target, d.status.in_([DEAD, DELIVERED]))
                .values(
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now or utc_now(),
                    claimed_until=None,
                    claim_token=None,
                    delivered_at=None,
                )
            )
        return int(getattr(result, "rowcount", 0))

    async def stats(self) -> dict[str, int]:
        """Deliveries per status, plus ``unsequenced`` events (for health checks and metrics)."""
        m = self.models
        async with self.maker() as session:
            rows = (await session.execute(select(m.delivery.status, func.count()).group_by(m.delivery.status))).all()
            unsequenced = await session.scalar(select(func.count()).where(m.event.sequence.is_(None)))
        counts = {PENDING: 0, DELIVERED: 0, DEAD: 0}
        counts.update({status: int(n) for status, n in rows})
        counts["unsequenced"] = int(unsequenced or 0)
        return counts

    async def step(self, now: datetime | None = None) -> int:
        """One round: fan out everything waiting, then deliver one batch.

        Returns:
            Events fanned out plus attempts made (0 means idle).
        """
        fanned = 0
        while True:
            async with transaction(self.maker) as session:
                n = await self.fan_out(session, now)
            fanned += n
            if n < self.fan_out_batch:
                break
        return fanned + await self.deliver_due(now)

    async def run_forever(self, stop_event: asyncio.Event, poll_interval: float | None = None) -> None:
        """Work until ``stop_event`` is set; the batch in progress is finished first.

        Database errors are logged and retried after the poll interval. Wire SIGTERM to the
        event with ``loop.add_signal_handler(signal.SIGTERM, stop_event.set)``.

        Args:
            stop_event: Set it to stop after the current batch.
            poll_interval: Sleep when idle; ``settings.poll_interval_seconds`` when omitted.
        """
        interval = poll_interval if poll_interval is not None else self.settings.poll_interval_seconds
        channel = wake_channel(self.models.event)
        wake = asyncio.Event()
        waiter = (asyncio.get_running_loop(), wake)
        _local_waiters.setdefault(channel, set()).add(waiter)
        listener = asyncio.create_task(self._listen(channel, wake, stop_event, interval))
        try:
            while not stop_event.is_set():
                wake.clear()
                try:
                    busy = await self.step()
                except Exception:
                    logger.exception("outbox relay round failed")
                    busy = 0
                if busy:
                    continue
                stopping = asyncio.ensure_future(stop_event.wait())
                woken = asyncio.ensure_future(wake.wait())
                try:
                    await asyncio.wait({stopping, woken}, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    stopping.cancel()
                    woken.cancel()
        finally:
            _local_waiters.get(channel, set()).discard(waiter)
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self, channel: str, wake: asyncio.Event, stop_event: asyncio.Event, retry: float) -> None:
        """``LISTEN`` for commits of other processes (PostgreSQL); reconnect after a failure."""
        bind = self.maker.kw.get("bind")
        url = getattr(bind, "url", None)
        if url is None or url.get_backend_name() != "postgresql":
            return
        import asyncpg  # type: ignore[import-untyped]

        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not stop_event.is_set():
            connection = None
            try:
                connection = await asyncpg.connect(dsn)
                closed = asyncio.Event()
                connection.add_termination_listener(lambda *_, closed=closed: closed.set())
                await connection.add_listener(channel, lambda *_: wake.set())
                wake.set()  # anything committed while we were not listening
                while not closed.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(closed.wait(), timeout=_LISTENER_PROBE_SECONDS)
                    if not closed.is_set():
                        await connection.execute("SELECT 1")  # a silently dropped connection fails here
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the poll interval covers the gap
                logger.warning("outbox listener on %s failed: %s", channel, exc)
                await asyncio.sleep(retry)
            finally:
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(connection.close(timeout=2))
