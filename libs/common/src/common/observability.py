"""Observability shared by the services: Prometheus metrics, JSON logs, optional OpenTelemetry tracing.

One call wires everything into an app built by :func:`common.app.create_service_app`::

    app = create_service_app(...)
    install_observability(
        app,
        service="directive-api",
        settings=settings.observability,
        outbox_models=MODELS,
    )

* **Metrics** (:func:`install_metrics`): a pure-ASGI middleware records
  ``http_request_duration_seconds{method,route,status}`` (``route`` is the route *template*, e.g.
  ``/v1/directives/{directive_id}``; ``<unmatched>`` when no route matched, so label cardinality
  stays bounded) and ``http_requests_in_progress{method}``. Each app has its own
  ``CollectorRegistry`` (``app.state.metrics_registry``), exposed at ``GET /metrics``. Gauges
  whose value lives in the database (outbox backlog, timers …) are registered as *callbacks*
  (:func:`register_gauge_callback`, :func:`table_count_callback`, :func:`outbox_callbacks`): the
  ``/metrics`` handler awaits them just before rendering, so the numbers are as fresh as the scrape.
* **Logs** (:func:`configure_logging`): one JSON object per line on the root logger and uvicorn's
  loggers, with the request id of the current request (:class:`RequestContextMiddleware`), and
  one access line per request on the ``access`` logger.
* **Tracing** (:func:`configure_tracing`): off unless an OTLP/HTTP endpoint is configured; the
  OpenTelemetry packages are imported only then.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import hmac
import inspect
import json as jsonlib
import logging
import sys
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel, SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Executable
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.db import utc_now
from common.http import RequestIdMiddleware
from common.outbox import DEAD, PENDING, OutboxModels
from common.problems import ForbiddenError, NotAuthenticatedError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = [
    "UNMATCHED_ROUTE",
    "JsonFormatter",
    "MetricsMiddleware",
    "ObservabilitySettings",
    "RequestContextMiddleware",
    "configure_logging",
    "configure_tracing",
    "current_request_id",
    "install_metrics",
    "install_observability",
    "outbox_callbacks",
    "pdf_render_seconds",
    "pdf_sign_seconds",
    "register_gauge_callback",
    "table_count_callback",
    "timed",
]

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("access")

UNMATCHED_ROUTE = "<unmatched>"
METRICS_PATH = "/metrics"
# Probes and scrapes: counted in the metrics, but logged on the access logger only when they fail.
_QUIET_PATHS = frozenset({METRICS_PATH, "/healthz", "/readyz"})
_CALLBACK_TIMEOUT_SECONDS = 5.0
# Any other method is counted as OTHER: clients choose the method, and labels must stay bounded.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})

GaugeValue = float | int | None
GaugeFn = Callable[[], Awaitable[GaugeValue] | GaugeValue]


# --- settings ----------------------------------------------------------------------------------


class ObservabilitySettings(BaseModel):
    """How a service reports on itself; include it in the service settings as ``observability``.

    Attributes:
        log_level: Level of the root logger (``DEBUG``, ``INFO``, ``WARNING`` …).
        json_logs: One JSON object per line (production); plain text when false (development).
        metrics_enabled: Serve ``GET /metrics`` and record request metrics.
        otlp_endpoint: OTLP/HTTP collector, e.g. ``http://otel-collector:4318``; tracing is off
            when unset.
    """

    log_level: str = "INFO"
    json_logs: bool = True
    metrics_enabled: bool = True
    otlp_endpoint: str | None = None
    metrics_token: SecretStr | None = None
    """Bearer token Prometheus sends to scrape ``/metrics`` from another host (loopback needs none;
    a JWT with the monitor, admin, auditor or metrics role also works)."""


# --- request context ---------------------------------------------------------------------------

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled in this context, if any."""
    return _request_id.get()


class RequestContextMiddleware:
    """Puts the request id into a context variable, for the log lines of the request.

    Works on either side of :class:`common.http.RequestIdMiddleware`: inside it, it takes the id
    that middleware left in ``scope["state"]["request_id"]``; outside it (the usual case, since
    :func:`install_observability` runs after the app is built), it takes a valid ``X-Request-ID``
    from the client or generates one and puts it into the request headers, so that
    ``RequestIdMiddleware`` adopts the same id and echoes it in the response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request_id = state.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
            incoming = dict(headers).get(RequestIdMiddleware.header)
            if incoming and RequestIdMiddleware._valid.match(incoming):
                request_id = incoming.decode()
            else:
                request_id = uuid.uuid4().hex
                headers = [(k, v) for k, v in headers if k != RequestIdMiddleware.header]
                headers.append((RequestIdMiddleware.header, request_id.encode()))
                scope["headers"] = headers
            state["request_id"] = request_id
        token = _request_id.set(request_id)
        try:
            await self.app(scope, receive, send)
        finally:
            _request_id.reset(token)


# --- metrics -----------------------------------------------------------------------------------

_PDF_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

# Process-wide helper metrics (PDF work happens outside any request object); every app's registry
# exposes them (a collector may belong to several registries).
pdf_render_seconds = Histogram(
    "pdf_render_seconds",
    "Time spent rendering PDF documents, by step",
    ["step"],
    buckets=_PDF_BUCKETS,
    registry=None,
)
pdf_sign_seconds = Histogram(
    "pdf_sign_seconds",
    "Time spent signing and time-stamping PDF documents, by step",
    ["step"],
    buckets=_PDF_BUCKETS,
    registry=None,
)


@contextlib.contextmanager
def timed(histogram: Histogram, **labels: str) -> Iterator[None]:
    """Observe the duration of the ``with`` block in ``histogram`` (also when it raises).

    Example::

        with timed(pdf_render_seconds, step="html"):
            html = render(template, context)
    """
    target = histogram.labels(**labels) if labels else histogram
    start = time.perf_counter()
    try:
        yield
    finally:
        target.observe(time.perf_counter() - start)


@dataclass
class _CallbackGroup:
    """Gauges computed together by one function (e.g. the outbox gauges, from one session)."""

    specs: dict[str, str]  # gauge name → documentation
    fn: Callable[[], Awaitable[Mapping[str, GaugeValue]]]
    values: dict[str, float] = field(default_factory=dict)


class _CallbackCollector(Collector):
    """Gauges whose values are refreshed (asynchronously) just before each scrape.

    prometheus_client collectors are synchronous, so :meth:`refresh` runs first in the ``/metrics``
    handler and caches the values that :meth:`collect` then reports. A callback that fails or times
    out is logged and counted, and its gauges are left out of that scrape (rather than reporting a
    stale value), so ``absent()`` alerts fire.
    """

    def __init__(self, errors: Counter) -> None:
        self._groups: list[_CallbackGroup] = []
        self._errors = errors

    def add(self, group: _CallbackGroup) -> None:
        taken = {name for existing in self._groups for name in existing.specs}
        clash = taken & set(group.specs)
        if clash:
            raise ValueError(f"gauge callback already registered: {', '.join(sorted(clash))}")
        self._groups.append(group)

    async def refresh(self) -> None:
        await asyncio.gather(*(self._refresh(group) for group in self._groups))

    async def _refresh(self, group: _CallbackGroup) -> None:
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


@dataclass
class _Metrics:
    service: str
    registry: CollectorRegistry
    request_duration: Histogram
    in_progress: Gauge
    callbacks: _CallbackCollector


def _metrics(app: FastAPI) -> _Metrics:
    metrics: _Metrics | None = getattr(app.state, "metrics", None)
    if metrics is None:
        raise RuntimeError("call install_metrics(app, service=...) first")
    return metrics


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    return UNMATCHED_ROUTE


class MetricsMiddleware:
    """Request duration and in-flight gauges, plus one ``access`` log line per request.

    Pure ASGI (no ``BaseHTTPMiddleware``): it does not buffer bodies or break streaming, and reads
    the route template that Starlette's router leaves in ``scope["route"]``.
    """

    def __init__(self, app: ASGIApp, *, metrics: _Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"] if scope["method"] in _METHODS else "OTHER"
        status = 500  # what the client gets when the app raises before responding
        in_progress = self.metrics.in_progress.labels(method)

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        in_progress.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            elapsed = time.perf_counter() - start
            in_progress.dec()
            route = _route_template(scope)
            self.metrics.request_duration.labels(method, route, str(status)).observe(elapsed)
            if status >= 400 or scope.get("path") not in _QUIET_PATHS:
                request_id = (scope.get("state") or {}).get("request_id") or current_request_id()
                access_logger.info(
                    "%s %s %d %.1fms",
                    method,
                    route,
                    status,
                    elapsed * 1000,
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                        "request_id": request_id,
                    },
                )


SCRAPE_ROLES = frozenset({"monitor", "admin", "auditor", "metrics"})


def _authorise_scrape(request: Request, token: str | None) -> None:
    """Scrapes come from loopback (a node-local agent), carry the metrics token, or a bearer JWT
    with a monitoring role; anything else is refused like every other endpoint."""
    client = request.client.host if request.client else ""
    if client in ("127.0.0.1", "::1", "localhost"):
        return
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials:
        raise NotAuthenticatedError("a bearer token is required to scrape metrics")
    if token is not None and hmac.compare_digest(credentials.encode(), token.encode()):
        return
    verifier = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        raise NotAuthenticatedError("invalid metrics token")
    principal = verifier.verify(credentials)
    if principal.roles.isdisjoint(SCRAPE_ROLES):
        raise ForbiddenError("scraping metrics needs one of the roles: " + ", ".join(sorted(SCRAPE_ROLES)))


def install_metrics(app: FastAPI, *, service: str, token: str | None = None) -> CollectorRegistry:
    """Give ``app`` its own registry (``app.state.metrics_registry``), the middleware and ``/metrics``.

    Returns:
        The registry, for registering service-specific collectors.
    """
    if getattr(app.state, "metrics", None) is not None:
        raise RuntimeError("metrics are already installed on this app")
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(pdf_render_seconds)
    registry.register(pdf_sign_seconds)
    info = Gauge(
        "service_info", "The service behind this endpoint (always 1)", ["service", "version"], registry=registry
    )
    info.labels(service, app.version).set(1)
    errors = Counter(
        "metrics_callback_errors",
        "Scrape-time gauge callbacks that failed or timed out, by gauge",
        ["gauge"],
        registry=registry,
    )
    callbacks = _CallbackCollector(errors)
    registry.register(callbacks)
    metrics = _Metrics(
        service=service,
        registry=registry,
        request_duration=Histogram(
            "http_request_duration_seconds",
            "Duration of HTTP requests, by method, route template and status code",
            ["method", "route", "status"],
            registry=registry,
        ),
        in_progress=Gauge(
            "http_requests_in_progress",
            "HTTP requests being handled, by method",
            ["method"],
            registry=registry,
        ),
        callbacks=callbacks,
    )
    app.state.metrics = metrics
    app.state.metrics_registry = registry
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    async def metrics_endpoint(request: Request) -> Response:
        _authorise_scrape(request, token)
        await callbacks.refresh()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(
        METRICS_PATH,
        metrics_endpoint,
        methods=["GET"],
        include_in_schema=False,
        summary="Prometheus metrics",
    )
    return registry


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

    _metrics(app).callbacks.add(_CallbackGroup({name: documentation}, wrapped))


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

    _metrics(app).callbacks.add(_CallbackGroup(dict(OUTBOX_GAUGES), snapshot))


# --- logging -----------------------------------------------------------------------------------

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is emitted.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "service",
    "request_id",
    "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colour codes
}
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")
# Libraries that log every request (httpx) or every CSS rule they skip (WeasyPrint) at INFO or
# WARNING: shown only when the service logs at DEBUG.
CHATTY_LOGGERS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "weasyprint": logging.ERROR,
    "fontTools": logging.ERROR,
}


class _ContextFilter(logging.Filter):
    """Adds ``service`` and ``request_id`` to each record passing through the handler."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record.

    Keys: ``ts`` (RFC 3339, UTC, milliseconds), ``level``, ``logger``, ``message``, ``service``,
    ``request_id``, ``exc_info`` (the formatted traceback, when present), ``stack_info`` (when
    present), ``trace_id``/``span_id`` (when an OpenTelemetry span is recording), then any
    ``extra=`` fields of the call.
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": getattr(record, "service", self.service),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        if record.exc_info:
            entry["exc_info"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = record.stack_info
        entry.update(_trace_context())
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = value
        return jsonlib.dumps(entry, ensure_ascii=False, default=str)


def _trace_context() -> dict[str, str]:
    # Only when tracing was set up: importing OpenTelemetry here would defeat its lazy loading.
    trace_module = sys.modules.get("opentelemetry.trace")
    if trace_module is None:
        return {}
    context = trace_module.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"


def configure_logging(
    service: str,
    level: str = "INFO",
    json: bool = True,
    *,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send the root logger and uvicorn's loggers to one handler (JSON lines, or text).

    Calling it again replaces the handler it installed before; other handlers on the root logger
    (e.g. pytest's capture) are left alone. ``uvicorn.access`` is silenced: the ``access`` logger
    of :class:`MetricsMiddleware` replaces it with route templates and request ids.

    Args:
        service: Name written into every line.
        level: Root level (``DEBUG``, ``INFO`` …).
        json: JSON lines when true, human-readable text otherwise.
        stream: Where to write; standard output by default.

    Returns:
        The installed handler.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.addFilter(_ContextFilter(service))
    handler.setFormatter(JsonFormatter(service) if json else logging.Formatter(_TEXT_FORMAT))
    handler.set_name(f"common.observability:{service}")
    root = logging.getLogger()
    for existing in list(root.handlers):
        if (existing.get_name() or "").startswith("common.observability:"):
            root.removeHandler(existing)
            existing.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
    debug = root.level <= logging.DEBUG
    for name, quiet in CHATTY_LOGGERS.items():
        logging.getLogger(name).setLevel(logging.NOTSET if debug else quiet)
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers[:] = [logging.NullHandler()]  # no handler at all would mean logging.lastResort
    uvicorn_access.propagate = False
    access_logger.setLevel(logging.NOTSET)
    access_logger.propagate = True
    return handler


# --- tracing -----------------------------------------------------------------------------------


def _traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL: ``/v1/traces`` is appended to a bare collector address."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else base + "/v1/traces"


def configure_tracing(
    app: FastAPI,
    *,
    service: str,
    endpoint: str | None,
    exporter: SpanExporter | None = None,
    set_global: bool = True,
) -> TracerProvider | None:
    """Trace requests and SQL with OpenTelemetry, exporting over OTLP/HTTP to ``endpoint``.

    Does nothing (and imports nothing) when neither ``endpoint`` nor ``exporter`` is given.
    Spans are batched for OTLP; an explicit ``exporter`` (tests, debugging) gets each span
    synchronously. ``/metrics`` and the health probes are not traced. The provider is shut down
    (pending spans flushed) when the app's lifespan ends.

    Args:
        app: A FastAPI app; its ``app.state.engine`` (an ``AsyncEngine``), when present, is
            instrumented too.
        service: ``service.name`` of the spans.
        endpoint: OTLP/HTTP collector, e.g. ``http://otel-collector:4318`` (``/v1/traces`` is
            appended when missing).
        exporter: Use this exporter instead of OTLP (e.g. ``InMemorySpanExporter`` in tests).
        set_global: Also make the provider the global one, so ``opentelemetry.trace.get_tracer``
            in service code records into it (only when no global provider is set yet).

    Returns:
        The tracer provider, or ``None`` when tracing stays off.
    """
    if endpoint is None and exporter is None:
        return None
    from opentelemetry import trace
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.version": app.version}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        assert endpoint is not None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=_traces_url(endpoint))))
    if set_global and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=",".join(f"{path}$" for path in sorted(_QUIET_PATHS)),
    )
    engine = getattr(app.state, "engine", None)
    if engine is not None:
        _instrument_engine(engine, provider)
    app.state.tracer_provider = provider

    inner_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        try:
            async with inner_lifespan(application) as state:
                yield state
        finally:
            provider.shutdown()

    app.router.lifespan_context = lifespan
    return provider


def _instrument_engine(engine: Any, provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.sqlalchemy import (
        SQLAlchemyInstrumentor,
    )

    instrumentor = SQLAlchemyInstrumentor()
    sync_engine = getattr(engine, "sync_engine", engine)
    if instrumentor.is_instrumented_by_opentelemetry:
        # One instrumentation per process (the instrumentor is a singleton); a second app in the
        # same process (tests) gets its engine traced by the provider of the first.
        logger.warning("SQLAlchemy is already instrumented; engine %s joins the existing tracer", sync_engine.url)
    # SQLAlchemy 2.1 is newer than the instrumentation's declared range (< 2.1); the engine event
    # API it uses is unchanged, so the version check is skipped.
    instrumentor.instrument(engine=sync_engine, tracer_provider=provider, skip_dep_check=True)


# --- all together ------------------------------------------------------------------------------


def install_observability(
    app: FastAPI,
    *,
    service: str,
    settings: ObservabilitySettings,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    outbox_models: OutboxModels | None = None,
    log_stream: IO[str] | None = None,
) -> None:
    """Logs, request context, metrics (with the outbox gauges) and tracing, as ``settings`` say.

    Call it from the service's ``create_app`` after :func:`common.app.create_service_app`.
    ``sessionmaker`` defaults to ``app.state.sessionmaker``; the outbox gauges are registered
    when ``outbox_models`` is given (and metrics are enabled).
    """
    configure_logging(service, settings.log_level, settings.json_logs, stream=log_stream)
    if settings.metrics_enabled:
        install_metrics(
            app,
            service=service,
            token=settings.metrics_token.get_secret_value() if settings.metrics_token is not None else None,
        )
        if outbox_models is not None:
            maker: async_sessionmaker[AsyncSession] = sessionmaker or app.state.sessionmaker
            outbox_callbacks(app, maker, outbox_models)
    # Added last, so outermost: the request id is known before metrics and access logs need it.
    app.add_middleware(RequestContextMiddleware)
    configure_tracing(app, service=service, endpoint=settings.otlp_endpoint)
