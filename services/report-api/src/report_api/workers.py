"""Background work of report-api: durable timers (reminders, escalation) and the event relay.

Runs as its own process (``report-api run-timers``; several replicas share the work with
``SKIP LOCKED``) or inside the web process in the embedded mode
(``REPORT_API_RUN_WORKERS_IN_PROCESS=true``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.db import transaction, utc_now
from common.health import beat
from common.outbox import Relay, ensure_subscription
from report_api.events.models import OUTBOX, WebhookSubscription
from report_api.settings import Settings

logger = logging.getLogger(__name__)


async def ensure_directive_api_subscription(maker: async_sessionmaker[AsyncSession], settings: Settings) -> bool:
    """Subscribe directive-api's inbox to obligation events, when configured (idempotent)."""
    if not settings.directive_api_inbox_url or settings.directive_api_inbox_secret is None:
        return False
    async with transaction(maker) as session:
        subscription = await ensure_subscription(
            session,
            WebhookSubscription,
            owner="directive-api",
            url=settings.directive_api_inbox_url,
            event_types=["obligation.*"],
            settings=settings.webhooks,
            secret=settings.directive_api_inbox_secret.get_secret_value(),
        )
        # The configured peer receives every unit's events and is hidden from the API.
        subscription.system = True
    return True


async def run(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    stop: asyncio.Event,
    *,
    clock: Callable[[], datetime] = utc_now,
    interval: float | None = None,
    once: bool = False,
    heartbeat: Path | None = None,
) -> int:
    """Fire due timers and relay events until ``stop`` is set; returns the timers fired.

    ``heartbeat`` is touched after every round that succeeded (the container's health check)."""
    from report_api.events.service import webhook_audience
    from report_api.reminders.service import run_due_timers

    try:
        await ensure_directive_api_subscription(maker, settings)
    except Exception:  # a misconfigured subscriber must not stop timers and the relay
        logger.exception("could not register the configured webhook subscribers")
    poll = (
        interval
        if interval is not None
        else min(settings.timer_interval_seconds, settings.webhooks.poll_interval_seconds)
    )
    fired_total = 0
    async with Relay(maker, OUTBOX, settings.webhooks, audience=webhook_audience(settings)) as relay:
        while not stop.is_set():
            busy = 0
            try:
                fired = await run_due_timers(maker, clock(), settings=settings)
                fired_total += fired
                busy += fired + await relay.step()
            except Exception:
                logger.exception("worker round failed; retrying")
            else:
                beat(heartbeat)
            if once:
                break
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll)
    return fired_total
