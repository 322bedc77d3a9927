"""Optional OpenTelemetry tracing of requests and SQL (imported only when configured)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from common.observability.metrics import QUIET_PATHS

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["configure_tracing"]

logger = logging.getLogger(__name__)


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
        excluded_urls=",".join(f"{path}$" for path in sorted(QUIET_PATHS)),
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
