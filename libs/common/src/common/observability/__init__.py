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

One concern a module (``settings``, ``context``, ``metrics``, ``gauges``, ``logs``, ``tracing``);
every public name is importable from ``common.observability``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from common.lazy import lazy_attributes

if TYPE_CHECKING:
    from typing import IO

    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from common.observability.context import RequestContextMiddleware, current_request_id
    from common.observability.gauges import (
        OUTBOX_GAUGES,
        outbox_callbacks,
        register_gauge_callback,
        table_count_callback,
    )
    from common.observability.logs import CHATTY_LOGGERS, JsonFormatter, configure_logging
    from common.observability.metrics import (
        METRICS_PATH,
        SCRAPE_ROLES,
        UNMATCHED_ROUTE,
        MetricsMiddleware,
        install_metrics,
        pdf_render_seconds,
        pdf_sign_seconds,
        timed,
    )
    from common.observability.settings import ObservabilitySettings
    from common.observability.tracing import configure_tracing
    from common.outbox.models import OutboxModels

_SOURCES = {
    "RequestContextMiddleware": "common.observability.context",
    "current_request_id": "common.observability.context",
    "OUTBOX_GAUGES": "common.observability.gauges",
    "outbox_callbacks": "common.observability.gauges",
    "register_gauge_callback": "common.observability.gauges",
    "table_count_callback": "common.observability.gauges",
    "CHATTY_LOGGERS": "common.observability.logs",
    "JsonFormatter": "common.observability.logs",
    "configure_logging": "common.observability.logs",
    "METRICS_PATH": "common.observability.metrics",
    "SCRAPE_ROLES": "common.observability.metrics",
    "UNMATCHED_ROUTE": "common.observability.metrics",
    "MetricsMiddleware": "common.observability.metrics",
    "install_metrics": "common.observability.metrics",
    "pdf_render_seconds": "common.observability.metrics",
    "pdf_sign_seconds": "common.observability.metrics",
    "timed": "common.observability.metrics",
    "ObservabilitySettings": "common.observability.settings",
    "configure_tracing": "common.observability.tracing",
    "OutboxModels": "common.outbox.models",
}
__getattr__ = lazy_attributes(__name__, _SOURCES)

__all__ = [
    "CHATTY_LOGGERS",
    "METRICS_PATH",
    "OUTBOX_GAUGES",
    "SCRAPE_ROLES",
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
    from common.observability.context import RequestContextMiddleware
    from common.observability.gauges import outbox_callbacks
    from common.observability.logs import configure_logging
    from common.observability.metrics import install_metrics
    from common.observability.tracing import configure_tracing

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
