"""Webhook subscriptions: registration behind the SSRF guard, secrets and their rotation, filters."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import advisory_lock_async, utc_now
from common.outbox.envelope import rfc3339
from common.outbox.ids import new_id
from common.outbox.models import S, WebhookSubscriptionMixin
from common.outbox.secrets import use_secret_keys
from common.outbox.settings import WebhookSettings
from common.webhooks import Resolver, check_webhook_url, generate_secret, signature_headers

__all__ = ["create_subscription", "ensure_subscription", "event_matches", "rotate_secret", "subscription_view"]


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
        "created_at": rfc3339(subscription.created_at),
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
