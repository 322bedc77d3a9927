"""OpenTelemetry spans on the services' outgoing HTTP calls, so that a trace crosses services.

Every HTTP client the services make to reach another system is traced: on httpx (the identity
provider of report-api's pages, the feed) it is built by :func:`traced_async_client`; on aiohttp
(webhook deliveries of the relay, the national exchange (VXP), the remote signing service's client,
pyHanko's CSC signer) its session gets :func:`aiohttp_trace_configs`. Each request then is a
``CLIENT`` span, child of the span that is current (a request's, a relay round's), and carries that
context in a W3C ``traceparent`` header, which the receiving service's own instrumentation
(FastAPI's) continues.

Spans go to the global tracer provider: the one :func:`common.observability.configure_tracing`
installs in a web process, or :func:`configure_process_tracing` in a worker process (relay, timers)
that has no app. Without one (tracing off, the default) the instrumentation records nothing and adds
no header.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

__all__ = ["aiohttp_trace_configs", "configure_process_tracing", "instrument", "traced_async_client"]

logger = logging.getLogger(__name__)


def instrument(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Trace every request ``client`` sends (a span each, ``traceparent`` propagated); returns it."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client)
    return client


def traced_async_client(**options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient(**options)`` whose requests are traced (see :func:`instrument`)."""
    return instrument(httpx.AsyncClient(**options))


def aiohttp_trace_configs() -> list[Any]:
    """``trace_configs`` for an ``aiohttp.ClientSession``: the same spans and propagation on aiohttp.

    None while no tracer provider is set (tracing off): the instrumentation's signals would then
    only make spans that record nothing, and cost about a tenth of a busy worker's CPU (the relay
    and the exchange transport make thousands of calls). Create the session after tracing is
    configured (the app's settings, or :func:`configure_process_tracing`)."""
    from opentelemetry import trace

    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return []
    from opentelemetry.instrumentation.aiohttp_client import create_trace_config

    return [create_trace_config()]


def configure_process_tracing(service: str, endpoint: str | None) -> bool:
    """Export the spans of a process without an app (the relay, the timer worker) over OTLP/HTTP.

    Does nothing when ``endpoint`` is None or a global tracer provider is already set (a web
    process that runs its workers in-process has the app's).

    Args:
        service: ``service.name`` of the spans, e.g. ``"directive-api-relay"``.
        endpoint: OTLP/HTTP collector, e.g. ``http://otel-collector:4318`` (``/v1/traces`` appended
            when missing).

    Returns:
        True when this call installed a provider.
    """
    if endpoint is None:
        return False
    from opentelemetry import trace

    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    url = endpoint.rstrip("/")
    url = url if url.endswith("/v1/traces") else f"{url}/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    trace.set_tracer_provider(provider)
    logger.info("tracing to %s", url)
    return True
