"""Background work: the event relay (webhooks), the dispatch timer (same-day dispatch) and, when a
hub is configured, the exchange transport (exchange/transport.py).

Runs as its own process (``directive-api relay``; several replicas share the work) or inside the
web process in the embedded single-machine mode (``DIRECTIVE_API_RUN_WORKERS_IN_PROCESS=true``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import aiohttp
import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.db import transaction, utc_now
from common.health import beat
from common.http_tracing import aiohttp_trace_configs
from common.outbox import Relay, ensure_subscription
from common.outbox.relay import idle
from common.vxp import VxpError
from common.vxp.client import VxpClient
from directive_api.directives import service as directives
from directive_api.events.models import OUTBOX, WebhookSubscription
from directive_api.events.visibility import webhook_audience
from directive_api.exchange import transport
from directive_api.pdfs.service import PdfContext
from directive_api.settings import Settings
from directive_api.signing import service as signing

logger = logging.getLogger(__name__)


async def ensure_subscribers(maker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Create (or refresh the secret and event types of) the configured subscriptions."""
    async with transaction(maker) as session:
        for subscriber in settings.subscribers:
            subscription = await ensure_subscription(
                session,
                WebhookSubscription,
                owner=subscriber.owner,
                url=subscriber.url,
                event_types=subscriber.event_types,
                settings=settings.webhooks,
                secret=subscriber.secret.get_secret_value(),
            )
            # Configured peers (report-api) receive every event and are hidden from the API.
            subscription.system = True
    return len(settings.subscribers)


async def _exchange_transport(
    stack: contextlib.AsyncExitStack, settings: Settings
) -> tuple[VxpClient, PdfContext] | None:
    """The VXP client of this office when a hub is configured (``EXCHANGE__VXP__…``)."""
    vxp = settings.exchange.vxp
    if vxp is None:
        return None
    # aiohttp: a fan-out is thousands of hub calls, each a tenth of httpx's CPU (docs/benchmarks.md)
    http = await stack.enter_async_context(
        aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=vxp.timeout_seconds), trace_configs=aiohttp_trace_configs()
        )
    )
    client = VxpClient(vxp.base_url, vxp.system_id, vxp.secret.get_secret_value(), http)
    return client, PdfContext.from_settings(settings)


async def run(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    stop: asyncio.Event,
    *,
    clock: Callable[[], datetime] = utc_now,
    heartbeat: Path | None = None,
) -> None:
    """Relay events, dispatch due documents and, with a hub configured, run the exchange transport
    until ``stop`` is set (each loop finishing its current round).

    ``heartbeat`` is touched after every round that succeeded (the container's health check)."""
    try:
        await ensure_subscribers(maker, settings)
    except Exception:  # a misconfigured subscriber must not stop timers and the relay
        logger.exception("could not register the configured webhook subscribers")
    async with contextlib.AsyncExitStack() as stack:
        relay = await stack.enter_async_context(Relay(maker, OUTBOX, settings.webhooks, audience=webhook_audience))
        exchange = await _exchange_transport(stack, settings)

        async def relay_round() -> int:
            try:
                async with transaction(maker) as session:
                    busy = len(await directives.dispatch_due(session, now=clock()))
                async with transaction(maker) as session:
                    busy += await signing.expire_due(session, now=clock(), workflow=directives.ENGINE)
                busy += await relay.step()
            except Exception:
                logger.exception("worker round failed; retrying")
                return 0
            beat(heartbeat)
            return busy

        async def exchange_round() -> int:
            assert exchange is not None
            try:
                return (await transport.step(maker, exchange[0], exchange[1], now=clock())).busy
            except (httpx.HTTPError, VxpError) as exc:  # the hub is away: one line, not a traceback a second
                logger.warning("exchange hub unreachable (%s: %s); retrying", type(exc).__name__, exc)
            except Exception:  # nothing in the transport may stop the relay and the timers
                logger.exception("exchange transport round failed; retrying")
            return 0

        # Two loops, each woken by every commit that emitted events (a dispatch, a status…) and
        # else by the poll interval: a dispatched letter leaves for the hub at once, and neither a
        # slow webhook receiver nor a slow hub holds the other back.
        rounds = [relay_round, exchange_round] if exchange is not None else [relay_round]
        interval = settings.webhooks.poll_interval_seconds
        wakes = await stack.enter_async_context(relay.wakeups(stop, interval, len(rounds)))
        await asyncio.gather(*(_loop(stop, wake, interval, one) for wake, one in zip(wakes, rounds, strict=True)))


async def _loop(
    stop: asyncio.Event, wake: asyncio.Event, interval: float, one_round: Callable[[], Awaitable[int]]
) -> None:
    """Rounds until ``stop`` is set: at once while they find work, else when woken or after ``interval``."""
    while not stop.is_set():
        wake.clear()
        if not await one_round():
            await idle(stop, wake, interval)
