"""Background work: the event relay (webhooks) and the dispatch timer (same-day dispatch).

Runs as its own process (``directive-api relay``; several replicas share the work) or inside the
web process in the embedded single-machine mode (``DIRECTIVE_API_RUN_WORKERS_IN_PROCESS=true``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.db import transaction, utc_now
from common.outbox import Relay, ensure_subscription
from directive_api.directives import service as directives
from directive_api.dispatch.models import OUTBOX, WebhookSubscription
from directive_api.settings import Settings
from directive_api.signing import service as signing

logger = logging.getLogger(__name__)


async def ensure_subscribers(maker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Create (or refresh the secret and event types of) the configured subscriptions."""
    async with transaction(maker) as session:
        for subscriber in settings.subscribers:
            await ensure_subscription(
                session,
                WebhookSubscription,
                owner=subscriber.owner,
                url=subscriber.url,
                event_types=subscriber.event_types,
                settings=settings.webhooks,
                secret=subscriber.secret.get_secret_value(),
            )
    return len(settings.subscribers)


async def run(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    stop: asyncio.Event,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Relay events and dispatch due documents until ``stop`` is set (finishing the current round)."""
    try:
        await ensure_subscribers(maker, settings)
    except Exception:  # a misconfigured subscriber must not stop timers and the relay
        logger.exception("could not register the configured webhook subscribers")
    async with Relay(maker, OUTBOX, settings.webhooks) as relay:
        while not stop.is_set():
            busy = 0
            try:
                async with transaction(maker) as session:
                    busy += len(await directives.dispatch_due(session, now=clock()))
                async with transaction(maker) as session:
                    busy += await signing.expire_due(session, now=clock())
                busy += await relay.step()
            except Exception:
                logger.exception("worker round failed; retrying")
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=settings.webhooks.poll_interval_seconds)
