"""The relay: sequencing and fan-out of committed events, then at-least-once delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.db import advisory_lock_async, transaction, utc_now
from common.http_tracing import aiohttp_trace_configs
from common.outbox import wake as wakeup
from common.outbox.envelope import encode_envelope
from common.outbox.ids import new_id
from common.outbox.models import (
    DEAD,
    DELIVERED,
    PENDING,
    OutboxEventMixin,
    OutboxModels,
    WebhookSubscriptionMixin,
)
from common.outbox.settings import WebhookSettings
from common.outbox.startup import configure_outbox
from common.outbox.subscriptions import event_matches
from common.webhooks import (
    DeliveryResult,
    Resolver,
    UnsafeUrlError,
    backoff_delay,
    check_webhook_url,
    deliver,
    signature_headers,
)

__all__ = ["PERMANENT_REFUSALS", "Audience", "Relay", "idle"]

logger = logging.getLogger(__name__)

LISTENER_PROBE_SECONDS = 30.0
"""How often an idle ``LISTEN`` connection is probed (a silently dropped one fails the probe)."""

PERMANENT_REFUSALS = frozenset({400, 413, 415, 422})
"""Receiver answers that no retry can change (the event itself is refused): dead-lettered at once.
The dead letter keeps the start of the receiver's answer as its reason; the ``outbox_dead_letters``
gauge counts it and an error is logged. Every other failure is retried with back-off."""

Audience = Callable[
    [AsyncSession, Sequence[tuple[str, str, str]], Sequence[str]], Awaitable[Collection[tuple[str, str]]]
]
"""A service's visibility rule for webhooks: ``(session, [(event id, type, subject)], [subscription
id]) -> the (event id, subscription id) pairs that may be delivered``. Called at fan-out, in its
transaction; an event not allowed to a subscription gets no delivery at all (not a dead one)."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    result: DeliveryResult
    give_up: bool = False
    gone: bool = False


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
        client: aiohttp.ClientSession | None = None,
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
            client: Shared HTTP session; one is created on first use (and closed by :meth:`aclose`)
                if omitted: traced, never decompressing what receivers answer.
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
        configure_outbox(self.settings)  # events this process emits wake this relay at once
        if self.settings.lease_seconds <= self.settings.timeout_seconds:
            raise ValueError("lease_seconds must exceed timeout_seconds")
        self._own_client = client is None
        self._client = client
        self.resolver = resolver
        self.rng = rng
        self.fan_out_batch = fan_out_batch
        self.audience = audience
        self._lock_name = f"outbox:{models.event.__tablename__}"  # type: ignore[attr-defined]

    async def __aenter__(self) -> Relay:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    @property
    def client(self) -> aiohttp.ClientSession:
        """The HTTP session deliveries use (created inside the event loop that first needs it)."""
        if self._client is None:
            self._client = aiohttp.ClientSession(trace_configs=aiohttp_trace_configs(), auto_decompress=False)
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP session if the relay created it."""
        if self._own_client and self._client is not None:
            await self._client.close()
            self._client = None

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

        The outcomes of the batch are recorded together, in one transaction (a few statements),
        once every attempt of the batch ended: a fan-out of thousands of events costs a handful
        of statements per batch, not two per event. A crash before that commit leaves the claims
        to expire, and those deliveries are attempted again (at least once).

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
        unsafe = await self._unsafe_urls([s for s in subs.values() if s.active])
        results = await asyncio.gather(
            *(self._attempt(events.get(c.event_id), subs.get(c.subscription_id), unsafe) for c in claimed)
        )
        await self._record(list(zip(claimed, results, strict=True)), now)
        return len(claimed)

    async def _unsafe_urls(self, subscriptions: Sequence[WebhookSubscriptionMixin]) -> dict[str, str]:
        """Why each endpoint of the batch may not be called (the SSRF rules, checked once per
        endpoint and batch: resolving is a thread hop and a DNS query); safe ones are absent."""
        unsafe: dict[str, str] = {}
        for url in sorted({s.url for s in subscriptions}):
            try:
                await asyncio.to_thread(
                    check_webhook_url,
                    url,
                    allow_hosts=self.settings.allow_hosts,
                    allow_private=self.settings.allow_private,
                    resolver=self.resolver,
                )
            except UnsafeUrlError as exc:
                unsafe[url] = str(exc)
        return unsafe

    async def _attempt(
        self,
        event: OutboxEventMixin | None,
        subscription: WebhookSubscriptionMixin | None,
        unsafe: dict[str, str],
    ) -> _Outcome:
        if event is None or subscription is None or not subscription.active:
            result = DeliveryResult(ok=False, status_code=None, latency_seconds=0.0, error="subscription inactive")
            return _Outcome(result, give_up=True)
        if subscription.url in unsafe:
            error = f"unsafe URL: {unsafe[subscription.url]}"
            return _Outcome(DeliveryResult(ok=False, status_code=None, latency_seconds=0.0, error=error))
        body = encode_envelope(event)
        headers = signature_headers(subscription.secrets, event.id, body)
        headers["content-type"] = "application/json"
        headers["user-agent"] = f"outbox-relay ({event.source})"
        result = await deliver(self.client, subscription.url, body, headers, timeout=self.settings.timeout_seconds)
        return _Outcome(result, gone=result.endpoint_gone)

    async def _record(self, outcomes: Sequence[tuple[_Claimed, _Outcome]], now: datetime) -> None:
        """Every outcome of a batch in one transaction: the attempt log, then the deliveries —
        delivered, dead or due again after a back-off — each group in one executemany."""
        m = self.models
        d = m.delivery
        at = utc_now()
        attempts: list[dict[str, Any]] = []
        delivered: list[dict[str, Any]] = []
        dead: list[dict[str, Any]] = []
        retry: list[dict[str, Any]] = []
        gone: set[str] = set()
        for claimed, outcome in outcomes:
            result = outcome.result
            attempt_no = claimed.attempts + 1
            attempts.append(
                {
                    "id": new_id("att"),
                    "delivery_id": claimed.delivery_id,
                    "event_id": claimed.event_id,
                    "subscription_id": claimed.subscription_id,
                    "attempt": attempt_no,
                    "at": at,
                    "status_code": result.status_code,
                    "latency_ms": round(result.latency_seconds * 1000),
                    "error": result.error,
                    "response_body": result.response_body[:1000] or None,
                }
            )
            common: dict[str, Any] = {
                "b_id": claimed.delivery_id,
                "b_token": claimed.token,
                "b_attempts": attempt_no,
                "b_status_code": result.status_code,
                "b_error": result.error,
            }
            if result.ok:
                delivered.append(common)
                continue
            refused = result.status_code in PERMANENT_REFUSALS
            if refused:
                # The receiver understood the request and will never accept this event (a poison
                # event): retrying would only hide it. Dead-letter it now with the receiver's reason.
                common["b_error"] = f"{result.error}: {result.response_body[:500]}".rstrip(": ")
            if outcome.give_up or outcome.gone or refused or attempt_no >= self.settings.max_attempts:
                dead.append(common)
                if outcome.gone:
                    gone.add(claimed.subscription_id)
                logger.error(
                    "webhook delivery %s of event %s dead-lettered after attempt %d: %s",
                    claimed.delivery_id,
                    claimed.event_id,
                    attempt_no,
                    common["b_error"],
                )
                continue
            delay = backoff_delay(
                attempt_no - 1,
                base=self.settings.backoff_base_seconds,
                cap=self.settings.backoff_cap_seconds,
                jitter=self.settings.backoff_jitter,
                rng=self.rng,
            )
            delay = max(delay, min(result.retry_after_seconds or 0.0, self.settings.backoff_cap_seconds))
            retry.append({**common, "b_next": now + timedelta(seconds=delay)})
            logger.warning("webhook delivery %s attempt %d failed: %s", claimed.delivery_id, attempt_no, result.error)
        table = d.__table__  # type: ignore[attr-defined]
        released = {"claimed_until": None, "claim_token": None}
        recorded: dict[str, Any] = {
            "attempts": bindparam("b_attempts"),
            "last_status_code": bindparam("b_status_code"),
            "last_error": bindparam("b_error"),
        }
        async with transaction(self.maker) as session:
            await session.execute(insert(m.attempt), attempts)
            if delivered:
                # Delivered is final whoever holds the claim now: the receiver has it.
                await session.execute(
                    update(table)
                    .where(table.c.id == bindparam("b_id"), table.c.status == PENDING)
                    .values(status=DELIVERED, delivered_at=at, **recorded, **released),
                    delivered,
                )
            if dead:
                await session.execute(
                    update(table)
                    .where(table.c.id == bindparam("b_id"), table.c.claim_token == bindparam("b_token"))
                    .values(status=DEAD, **recorded, **released),
                    dead,
                )
            if retry:
                await session.execute(
                    update(table)
                    .where(table.c.id == bindparam("b_id"), table.c.claim_token == bindparam("b_token"))
                    .values(next_attempt_at=bindparam("b_next"), **recorded, **released),
                    retry,
                )
            if gone:
                await session.execute(
                    update(m.subscription).where(m.subscription.id.in_(sorted(gone))).values(active=False)
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
        async with self.wakeups(stop_event, interval) as (wake,):
            while not stop_event.is_set():
                wake.clear()
                try:
                    busy = await self.step()
                except Exception:
                    logger.exception("outbox relay round failed")
                    busy = 0
                if not busy:
                    await idle(stop_event, wake, interval)

    @contextlib.asynccontextmanager
    async def wakeups(
        self, stop_event: asyncio.Event, retry: float, count: int = 1
    ) -> AsyncIterator[tuple[asyncio.Event, ...]]:
        """``count`` events, each set whenever a transaction that emitted events commits — in this
        process, or in any process on PostgreSQL (one ``LISTEN`` connection for all of them,
        reconnected ``retry`` seconds after a failure): worker loops that also run other work each
        clear their own and wait on it with :func:`idle` between rounds."""
        channel = wakeup.wake_channel(self.models.event)
        loop = asyncio.get_running_loop()
        wakes = tuple(asyncio.Event() for _ in range(count))
        waiters = {(loop, wake) for wake in wakes}
        wakeup.local_waiters.setdefault(channel, set()).update(waiters)
        listener = asyncio.create_task(self._listen(channel, wakes, stop_event, retry))
        try:
            yield wakes
        finally:
            wakeup.local_waiters.get(channel, set()).difference_update(waiters)
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(
        self, channel: str, wakes: Sequence[asyncio.Event], stop_event: asyncio.Event, retry: float
    ) -> None:
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
                await connection.add_listener(channel, lambda *_: _set_all(wakes))
                _set_all(wakes)  # anything committed while we were not listening
                while not closed.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(closed.wait(), timeout=LISTENER_PROBE_SECONDS)
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


async def idle(stop_event: asyncio.Event, wake: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
    """Wait until ``stop_event`` or ``wake`` is set, or ``timeout`` seconds passed."""
    stopping = asyncio.ensure_future(stop_event.wait())
    woken = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({stopping, woken}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        woken.cancel()


def _set_all(events: Sequence[asyncio.Event]) -> None:
    for event in events:
        event.set()
