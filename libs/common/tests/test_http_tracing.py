"""Outgoing calls carry the trace: a span per request and a W3C ``traceparent`` the peer continues.

Run in a fresh interpreter each (the global tracer provider can be set once per process): a real
HTTP server on the loopback records the headers it receives; the clients the services use
(:func:`common.http_tracing.traced_async_client`, the relay's default client, aiohttp with
:func:`common.http_tracing.aiohttp_trace_configs`) call it inside a parent span.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_SCRIPT = r"""
import asyncio, json, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

seen = []

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        seen.append(dict(self.headers))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_port}/v1/inbox/events"

KIND = "__KIND__"
exporter = InMemorySpanExporter()
if not KIND.startswith("off"):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

async def call():
    from common.http_tracing import aiohttp_trace_configs, traced_async_client
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("parent") as parent:
        if KIND == "off-aiohttp":  # no provider: no trace config at all, nothing to pay per call
            import aiohttp
            configs = aiohttp_trace_configs()
            assert configs == [], configs
            async with aiohttp.ClientSession(trace_configs=configs) as session:
                async with session.get(url) as response:
                    status = response.status
        elif KIND in ("httpx", "off"):
            async with traced_async_client() as client:
                status = (await client.get(url)).status_code
        elif KIND == "relay":
            from common.outbox import Relay
            relay = Relay.__new__(Relay)  # only its default client is under test
            Relay.__init__(relay, None, type("M", (), {"event": type("E", (), {"__tablename__": "outbox_events"})})())
            async with relay.client.get(url) as response:
                status = response.status
            await relay.aclose()
        else:
            import aiohttp
            async with aiohttp.ClientSession(trace_configs=aiohttp_trace_configs()) as session:
                async with session.get(url) as response:
                    status = response.status
        return status, format(parent.get_span_context().trace_id, "032x")

status, trace_id = asyncio.run(call())
server.shutdown()
spans = [
    {"name": s.name, "kind": s.kind.name, "trace_id": format(s.context.trace_id, "032x"),
     "parent": format(s.parent.span_id, "016x") if s.parent else None}
    for s in exporter.get_finished_spans()
]
print(json.dumps({"status": status, "trace_id": trace_id, "headers": seen, "spans": spans}))
"""


def _run(kind: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT.replace("__KIND__", kind)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _check_traced(result: dict[str, object]) -> None:
    assert result["status"] == 204
    headers = result["headers"]
    assert isinstance(headers, list) and len(headers) == 1
    traceparent = {k.lower(): v for k, v in headers[0].items()}.get("traceparent")
    assert traceparent is not None, headers
    version, trace_id, span_id, flags = traceparent.split("-")
    assert (version, trace_id) == ("00", result["trace_id"])  # the caller's trace
    assert int(flags, 16) & 1  # sampled
    spans = result["spans"]
    assert isinstance(spans, list)
    clients = [s for s in spans if s["kind"] == "CLIENT"]
    assert len(clients) == 1, spans
    assert clients[0]["trace_id"] == result["trace_id"]
    parent = next(s for s in spans if s["name"] == "parent")
    assert clients[0]["parent"] is not None and parent["trace_id"] == result["trace_id"]
    # The header names the client span itself: the peer's spans hang under this very call.
    assert span_id != "0" * 16


def test_httpx_client_records_a_span_and_propagates_traceparent() -> None:
    _check_traced(_run("httpx"))


def test_relay_default_client_is_traced() -> None:
    _check_traced(_run("relay"))


def test_aiohttp_session_of_the_remote_signing_client_is_traced() -> None:
    _check_traced(_run("aiohttp"))


@pytest.mark.parametrize("kind", ["off", "off-aiohttp"])
def test_without_a_tracer_provider_nothing_is_added(kind: str) -> None:
    result = _run(kind)
    assert result["status"] == 204 and result["spans"] == []
    headers = result["headers"]
    assert isinstance(headers, list)
    assert "traceparent" not in {k.lower() for k in headers[0]}
