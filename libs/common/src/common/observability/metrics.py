"""Prometheus metrics: a registry per app, request metrics, ``GET /metrics`` and PDF timings."""

from __future__ import annotations

import contextlib
import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass

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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.observability.context import current_request_id
from common.observability.gauges import CallbackCollector
from common.observability.logs import access_logger
from common.problems import ForbiddenError, NotAuthenticatedError

__all__ = [
    "METRICS_PATH",
    "QUIET_PATHS",
    "SCRAPE_ROLES",
    "UNMATCHED_ROUTE",
    "MetricsMiddleware",
    "install_metrics",
    "pdf_render_seconds",
    "pdf_sign_seconds",
    "timed",
]

UNMATCHED_ROUTE = "<unmatched>"
METRICS_PATH = "/metrics"
# Probes and scrapes: counted in the metrics, but logged on the access logger only when they fail.
QUIET_PATHS = frozenset({METRICS_PATH, "/healthz", "/readyz"})
# Any other method is counted as OTHER: clients choose the method, and labels must stay bounded.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


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
class _Metrics:
    service: str
    registry: CollectorRegistry
    request_duration: Histogram
    in_progress: Gauge
    callbacks: CallbackCollector


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
            if status >= 400 or scope.get("path") not in QUIET_PATHS:
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
    callbacks = CallbackCollector(errors)
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
    app.state.metrics_callbacks = callbacks
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
