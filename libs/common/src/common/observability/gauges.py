"""Gauges whose values live in the database, computed by callbacks at each scrape of ``/metrics``."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field

from fastapi import FastAPI
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Executable

from common.db import utc_now
from common.outbox.models import DEAD, PENDING, OutboxModels

__all__ = [
    "OUTBOX_GAUGES",
    "CallbackCollector",
    "GaugeFn",
    "GaugeValue",
    "outbox_callbacks",
    "register_gauge_callback",
    "table_count_callback",
]

logger = logging.getLogger(__name__)

_CALLBACK_TIMEOUT_SECONDS = 5.0
GaugeValue = float | int | None
GaugeFn = Callable[[], Awaitable[GaugeValue] | GaugeValue]


@dataclass
class CallbackGroup:
    """Gauges computed together by one function (e.g. the outbox gauges, from one session)."""

    specs: dict[str, str]  # gauge name → documentation
    fn: Callable[[], Awaitable[Mapping[str, GaugeValue]]]
    values: dict[str, float] = field(default_factory=dict)


class CallbackCollector(Collector):
    """Gauges whose values are refreshed (asynchronously) just before each scrape.

    prometheus_client collectors are synchronous, so :meth:`refresh` runs first in the ``/metrics``
    handler and caches the values that :meth:`collect` then reports. A callback that fails or times
    out is logged and counted, and its gauges are left out of that scrape (rather than reporting a
    stale value), so ``absent()`` alerts fire.
    """

    def __init__(self, errors: Counter) -> None:
        self._groups: list[CallbackGroup] = []
        self._errors = errors

    def add(self, group: CallbackGroup) -> None:
        taken = {name for existing in self._groups for name in existing.specs}
        clash = taken & set(group.specs)
        if clash:
            raise ValueError(f"gauge callback already registered: {', '.join(sorted(clash))}")
        self._groups.append(group)

    async def refresh(self) -> None:
        await asyncio.gather(*(self._refresh(group) for group in self._groups))

    async def _refresh(self, group: CallbackGroup) -> None:
        try:
            async with asyncio.timeout(_CALLBACK_TIMEOUT_SECONDS):
                result = await group.fn()
        except Exception:
            logger.exception("metrics callback failed for %s", ", ".join(group.specs))
            for name in group.specs:
                self._errors.labels(name).inc()
            group.values = {}
            return
        group.values = {name: float(value) for name, value in result.items() if value is not None}

    def collect(self) -> Iterator[Metric]:
        for group in self._groups:
            for name, documentation in group.specs.items():
                if name in group.values:
                    yield GaugeMetricFamily(name, documentation, value=group.values[name])


def _callbacks(app: FastAPI) -> CallbackCollector:
    callbacks: CallbackCollector | None = getattr(app.state, "metrics_callbacks", None)
    if callbacks is None:
        raise RuntimeError("call install_metrics(app, service=...) first")
    return callbacks


def register_gauge_callback(app: FastAPI, name: str, documentation: str, fn: GaugeFn) -> None:
    """A gauge whose value ``fn`` (sync or async) computes at each scrape of ``/metrics``.

    ``fn`` returns a number, or ``None`` to leave the gauge out of that scrape. A sync ``fn``
    runs on the event loop, so it must be cheap; anything doing I/O should be async.
    """

    async def wrapped() -> Mapping[str, GaugeValue]:
        result = fn()
        if inspect.isawaitable(result):
            result = await result
        return {name: result}

    _callbacks(app).add(CallbackGroup({name: documentation}, wrapped))


def table_count_callback(
    app: FastAPI,
    name: str,
    documentation: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    statement: Executable,
) -> None:
    """A gauge set at each scrape to the number ``statement`` returns (a scalar select).

    Example (the timer backlog)::

        table_count_callback(
            app, "timers_due", "Timers past their due time", app.state.sessionmaker,
            select(func.count()).select_from(Timer).where(Timer.fired_at.is_(None), Timer.due_at <= func.now()),
        )
    """

    async def count() -> GaugeValue:
        async with sessionmaker() as session:
            value = await session.scalar(statement)
        return float(value) if value is not None else 0.0

    register_gauge_callback(app, name, documentation, count)


OUTBOX_GAUGES = {
    "outbox_pending_deliveries": "Webhook deliveries not yet delivered nor dead-lettered",
    "outbox_dead_letters": "Webhook deliveries given up after the last attempt (need an operator)",
    "outbox_unsequenced_events": "Committed events the relay has not yet sequenced and fanned out",
    "outbox_lag_seconds": "How overdue the oldest pending delivery is (now − next_attempt_at, 0 if none is due)",
}


def outbox_callbacks(
    app: FastAPI,
    sessionmaker: async_sessionmaker[AsyncSession],
    models: OutboxModels,
) -> None:
    """The outbox gauges (:data:`OUTBOX_GAUGES`), computed in one session at each scrape."""
    delivery = models.delivery
    event = models.event

    async def snapshot() -> Mapping[str, GaugeValue]:
        async with sessionmaker() as session:
            counts = (
                await session.execute(
                    select(delivery.status, func.count())
                    .where(delivery.status.in_((PENDING, DEAD)))
                    .group_by(delivery.status)
                )
            ).all()
            oldest = await session.scalar(select(func.min(delivery.next_attempt_at)).where(delivery.status == PENDING))
            unsequenced = await session.scalar(select(func.count()).select_from(event).where(event.sequence.is_(None)))
        by_status: dict[str, int] = {str(status): int(n) for status, n in counts}
        lag = 0.0
        if oldest is not None:
            if oldest.tzinfo is None:  # naive timestamps are UTC (common.db.UTCDateTime)
                oldest = oldest.replace(tzinfo=dt.UTC)
            lag = max(0.0, (utc_now() - oldest).total_seconds())
        return {
            "outbox_pending_deliveries": by_status.get(PENDING, 0),
            "outbox_dead_letters": by_status.get(DEAD, 0),
            "outbox_unsequenced_events": int(unsequenced or 0),
            "outbox_lag_seconds": lag,
        }

    _callbacks(app).add(CallbackGroup(dict(OUTBOX_GAUGES), snapshot))
