"""Metrics, JSON logs and tracing of common.observability, against a small app from create_service_app."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from outbox_models import MODELS, Base, OutboxEvent, WebhookDelivery  # the outbox tests' tables
from prometheus_client import Histogram
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text, update

from common.app import SessionDep, create_service_app
from common.db import utc_now
from common.http import RequestIdMiddleware
from common.observability import (
    UNMATCHED_ROUTE,
    ObservabilitySettings,
    RequestContextMiddleware,
    configure_logging,
    configure_tracing,
    install_metrics,
    install_observability,
    outbox_callbacks,
    pdf_render_seconds,
    register_gauge_callback,
    table_count_callback,
    timed,
)
from common.outbox import DEAD, DELIVERED, PENDING
from common.settings import DatabaseSettings
from common.testing import TokenFactory

ROUTE = "/v1/things/{thing_id}"


thing_logger = logging.getLogger("tests.things")


def _router() -> APIRouter:
    router = APIRouter()

    @router.get(ROUTE)
    async def get_thing(thing_id: str, session: SessionDep) -> dict[str, Any]:
        thing_logger.info("looking up %s", thing_id)
        value = await session.scalar(text("SELECT 41 + 1"))
        return {"id": thing_id, "value": value}

    @router.get("/v1/boom")
    async def boom() -> None:
        try:
            raise ValueError("kaboom")
        except ValueError:
            thing_logger.exception("it broke")
        return None

    return router


@pytest.fixture
def build_app(tmp_path: Path, token_factory: TokenFactory) -> Any:
    def build(name: str = "svc") -> FastAPI:
        return create_service_app(
            title=name,
            version="1.2.3",
            description="observability test",
            database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / name}.db"),
            auth=token_factory.auth,
            routers=[_router()],
        )

    return build


@pytest.fixture
async def dispose() -> AsyncIterator[list[FastAPI]]:
    apps: list[FastAPI] = []
    yield apps
    for app in apps:
        await app.state.engine.dispose()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.asgi", "uvicorn.access", "access"]
    saved = {
        name: (list(lg.handlers), lg.level, lg.propagate) for name in names for lg in [logging.getLogger(name or None)]
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        lg = logging.getLogger(name or None)
        for handler in list(lg.handlers):
            if handler not in handlers:
                lg.removeHandler(handler)
                handler.close()
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def _create_tables(app: FastAPI) -> None:
    async with app.state.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


# --- metrics -----------------------------------------------------------------------------------


async def test_request_histogram_uses_route_templates_and_counts(build_app: Any, dispose: list[FastAPI]) -> None:
    app = build_app()
    dispose.append(app)
    registry = install_metrics(app, service="svc")
    assert app.state.metrics_registry is registry

    async with _client(app) as client:
        for thing in ("abc", "abc", "xyz"):
            assert (await client.get(f"/v1/things/{thing}")).status_code == 200
        assert (await client.get("/no/such/path/42")).status_code == 404
        assert (await client.post("/v1/things/abc")).status_code == 405
        samples = await _scrape(client)

    count = "http_request_duration_seconds_count"
    assert _value(samples, count, method="GET", route=ROUTE, status="200") == 3
    assert _value(samples, count, method="GET", route=UNMATCHED_ROUTE, status="404") == 1
    assert _value(samples, count, method="POST", route=ROUTE, status="405") == 1
    bucket = _value(samples, "http_request_duration_seconds_bucket", method="GET", route=ROUTE, status="200", le="+Inf")
    assert bucket == 3
    routes = {dict(labels).get("route") for (name, labels) in samples if name.startswith("http_request_duration")}
    assert routes == {ROUTE, UNMATCHED_ROUTE}  # no raw paths such as /v1/things/abc
    # the scrape itself is the one GET in flight while the page is rendered
    assert _value(samples, "http_requests_in_progress", method="GET") == 1
    assert _value(samples, "service_info", service="svc", version="1.2.3") == 1
    assert "/metrics" not in app.openapi()["paths"]


async def test_each_app_has_its_own_registry(build_app: Any, dispose: list[FastAPI]) -> None:
    first, second = build_app("one"), build_app("two")
    dispose.extend([first, second])
    install_metrics(first, service="one")
    install_metrics(second, service="two")
    assert first.state.metrics_registry is not second.state.metrics_registry

    async with _client(first) as client_one, _client(second) as client_two:
        await client_one.get("/v1/things/a")
        one = await _scrape(client_one)
        two = await _scrape(client_two)

    count = "http_request_duration_seconds_count"
    assert _value(one, count, method="GET", route=ROUTE, status="200") == 1
    assert _value(two, count, method="GET", route=ROUTE, status="200") is None
    with pytest.raises(RuntimeError, match="already installed"):
        install_metrics(first, service="one")


async def test_timed_observes_into_pdf_histograms_exposed_by_every_app(build_app: Any, dispose: list[FastAPI]) -> None:
    app = build_app()
    dispose.append(app)
    install_metrics(app, service="svc")
    before = pdf_render_seconds.labels("html")._sum.get()  # process-wide metric: compare deltas
    with timed(pdf_render_seconds, step="html"):
        pass
    local = Histogram("local_seconds", "a histogram without labels", registry=None)
    with pytest.raises(RuntimeError), timed(local):
        raise RuntimeError("still observed")
    assert local._sum.get() > 0

    async with _client(app) as client:
        samples = await _scrape(client)
    assert pdf_render_seconds.labels("html")._sum.get() > before
    assert (_value(samples, "pdf_render_seconds_count", step="html") or 0) >= 1
    assert ("pdf_sign_seconds_created", frozenset()) not in samples  # labelled: no series until used


async def test_outbox_gauges_are_computed_at_scrape_time(build_app: Any, dispose: list[FastAPI]) -> None:
    app = build_app()
    dispose.append(app)
    await _create_tables(app)
    install_metrics(app, service="svc")
    outbox_callbacks(app, app.state.sessionmaker, MODELS)
    now = utc_now()

    async with _client(app) as client:
        empty = await _scrape(client)
        assert _value(empty, "outbox_pending_deliveries") == 0
        assert _value(empty, "outbox_dead_letters") == 0
        assert _value(empty, "outbox_unsequenced_events") == 0
        assert _value(empty, "outbox_lag_seconds") == 0

        async with app.state.sessionmaker() as session, session.begin():
            for event_id, sequence in (("evt_1", 1), ("evt_2", None)):
                session.add(
                    OutboxEvent(
                        id=event_id,
                        sequence=sequence,
                        type="thing.created",
                        source="svc",
                        subject="t1",
                        data={},
                        occurred_at=now,
                    )
                )
            for delivery_id, status, due in (
                ("dlv_pending", PENDING, now - timedelta(seconds=30)),
                ("dlv_dead", DEAD, now - timedelta(hours=5)),
                ("dlv_done", DELIVERED, now - timedelta(hours=6)),
            ):
                session.add(
                    WebhookDelivery(
                        id=delivery_id,
                        event_id="evt_1",
                        subscription_id=f"sub_{delivery_id}",
                        status=status,
                        attempts=1,
                        next_attempt_at=due,
                    )
                )
        samples = await _scrape(client)
        assert _value(samples, "outbox_pending_deliveries") == 1
        assert _value(samples, "outbox_dead_letters") == 1
        assert _value(samples, "outbox_unsequenced_events") == 1
        lag = _value(samples, "outbox_lag_seconds")
        assert lag is not None and 30 <= lag < 120

        # a pending delivery waiting for its back-off is not late: the lag drops to 0 at the next scrape
        async with app.state.sessionmaker() as session, session.begin():
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == "dlv_pending")
                .values(next_attempt_at=utc_now() + timedelta(minutes=5))
            )
        later = await _scrape(client)
        assert _value(later, "outbox_lag_seconds") == 0
        assert _value(later, "outbox_pending_deliveries") == 1


async def test_gauge_callbacks_sync_async_count_and_failing(build_app: Any, dispose: list[FastAPI]) -> None:
    app = build_app()
    dispose.append(app)
    await _create_tables(app)
    install_metrics(app, service="svc")
    calls: list[str] = []

    def sync_value() -> float:
        calls.append("sync")
        return 7.5

    async def async_value() -> int:
        calls.append("async")
        return 3

    async def broken() -> float:
        raise ConnectionError("database down")

    register_gauge_callback(app, "sync_gauge", "a sync callback", sync_value)
    register_gauge_callback(app, "async_gauge", "an async callback", async_value)
    register_gauge_callback(app, "broken_gauge", "a failing callback", broken)
    register_gauge_callback(app, "absent_gauge", "a callback with nothing to say", lambda: None)
    table_count_callback(
        app,
        "unsequenced_things",
        "events without a sequence",
        app.state.sessionmaker,
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.sequence.is_(None)),
    )
    with pytest.raises(ValueError, match="already registered"):
        register_gauge_callback(app, "sync_gauge", "twice", sync_value)
    assert calls == []  # nothing is evaluated before a scrape

    async with app.state.sessionmaker() as session, session.begin():
        session.add(OutboxEvent(id="evt_9", type="t", source="s", subject="x", data={}, occurred_at=utc_now()))

    async with _client(app) as client:
        samples = await _scrape(client)
    assert sorted(calls) == ["async", "sync"]
    assert _value(samples, "sync_gauge") == 7.5
    assert _value(samples, "async_gauge") == 3
    assert _value(samples, "unsequenced_things") == 1
    assert _value(samples, "broken_gauge") is None  # left out, not stale
    assert _value(samples, "absent_gauge") is None
    assert _value(samples, "metrics_callback_errors_total", gauge="broken_gauge") == 1


# --- logs --------------------------------------------------------------------------------------


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_json_logs_carry_the_request_id_of_the_response(
    build_app: Any, dispose: list[FastAPI], restore_logging: None
) -> None:
    app = build_app()
    dispose.append(app)
    stream = io.StringIO()
    install_observability(app, service="svc", settings=ObservabilitySettings(), log_stream=stream)

    async with _client(app) as client:
        response = await client.get("/v1/things/abc")
        client_chosen = await client.get("/v1/things/def", headers={"X-Request-ID": "client-id.42"})
        await client.get("/v1/boom")
        await client.get("/metrics")  # scrapes are not access-logged

    request_id = response.headers["x-request-id"]
    assert client_chosen.headers["x-request-id"] == "client-id.42"
    lines = _lines(stream)  # every line is one JSON object
    for line in lines:
        assert {"ts", "level", "logger", "message", "service", "request_id"} <= line.keys()
        assert line["service"] == "svc"
        assert line["ts"].endswith("Z")

    lookup = next(line for line in lines if line["message"] == "looking up abc")
    assert lookup["logger"] == "tests.things"
    assert lookup["level"] == "INFO"
    assert lookup["request_id"] == request_id
    assert "exc_info" not in lookup

    access = [line for line in lines if line["logger"] == "access"]
    assert [(a["method"], a["route"], a["status"]) for a in access] == [
        ("GET", ROUTE, 200),
        ("GET", ROUTE, 200),
        ("GET", "/v1/boom", 200),
    ]
    assert access[0]["request_id"] == request_id
    assert access[1]["request_id"] == "client-id.42"
    assert all(isinstance(a["duration_ms"], float) and a["duration_ms"] >= 0 for a in access)
    assert next(line for line in lines if line["message"] == "looking up def")["request_id"] == "client-id.42"

    failure = next(line for line in lines if line["message"] == "it broke")
    assert failure["level"] == "ERROR"
    assert "ValueError: kaboom" in failure["exc_info"]
    assert failure["request_id"] == access[2]["request_id"]

    logging.getLogger("outside").warning("no request here")
    assert _lines(stream)[-1]["request_id"] is None


def test_configure_logging_text_mode_and_uvicorn_loggers(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = io.StringIO()
    configure_logging("svc", "DEBUG", json=False, stream=stream)
    second = io.StringIO()
    handler = configure_logging("svc", "WARNING", json=True, stream=second)  # replaces the first
    ours = [h for h in logging.getLogger().handlers if (h.get_name() or "").startswith("common.observability:")]
    assert ours == [handler]
    logging.getLogger("uvicorn.error").warning("server says %s", "hi")
    logging.getLogger("uvicorn.access").warning("replaced by the access logger")
    logging.getLogger("tests").info("below the level")
    assert stream.getvalue() == ""
    assert capsys.readouterr().err == ""
    (line,) = _lines(second)
    assert line["logger"] == "uvicorn.error" and line["message"] == "server says hi" and line["level"] == "WARNING"

    text_stream = io.StringIO()
    configure_logging("svc", "INFO", json=False, stream=text_stream)
    logging.getLogger("tests").info("plain")
    assert text_stream.getvalue().rstrip().endswith("INFO    tests [None] plain")


async def test_request_context_inside_request_id_middleware_uses_its_id(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("svc", stream=stream)
    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        logging.getLogger("tests").info("hello")
        return {}

    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(RequestIdMiddleware)  # outermost this time
    async with _client(app) as client:
        response = await client.get("/hello", headers={"X-Request-ID": "bad id with spaces"})
    line = next(line for line in _lines(stream) if line["message"] == "hello")
    assert line["request_id"] == response.headers["x-request-id"] != "bad id with spaces"


# --- tracing and settings ----------------------------------------------------------------------


@pytest.fixture
def sqlalchemy_instrumentation() -> Iterator[None]:
    yield
    instrumentor = SQLAlchemyInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


async def test_tracing_records_a_server_span_with_the_route_and_sql(
    build_app: Any, dispose: list[FastAPI], sqlalchemy_instrumentation: None, restore_logging: None
) -> None:
    app = build_app()
    dispose.append(app)
    assert configure_tracing(app, service="svc", endpoint=None) is None
    exporter = InMemorySpanExporter()
    stream = io.StringIO()
    configure_logging("svc", stream=stream)
    provider = configure_tracing(app, service="svc", endpoint=None, exporter=exporter, set_global=False)
    assert provider is not None and app.state.tracer_provider is provider

    async with _client(app) as client:
        response = await client.get("/v1/things/abc")
        await client.get("/healthz")  # probes are not traced
    assert response.status_code == 200

    spans = exporter.get_finished_spans()
    server = [span for span in spans if span.kind is SpanKind.SERVER]
    assert len(server) == 1
    (span,) = server
    assert span.attributes is not None and span.attributes["http.route"] == ROUTE
    assert span.name == f"GET {ROUTE}"
    assert span.resource.attributes["service.name"] == "svc"
    sql = [s for s in spans if s.kind is SpanKind.CLIENT and "SELECT 41 + 1" in str((s.attributes or {}).values())]
    assert sql and sql[0].context.trace_id == span.context.trace_id  # the query is part of the request's trace

    lookup = next(line for line in _lines(stream) if line["message"] == "looking up abc")
    assert lookup["trace_id"] == f"{span.context.trace_id:032x}"

    async with app.router.lifespan_context(app):
        pass  # the wrapped lifespan shuts the provider down at the end
    exporter.clear()
    tracer = provider.get_tracer("after-shutdown")
    with tracer.start_as_current_span("late"):
        pass
    assert exporter.get_finished_spans() == ()


async def test_install_observability_follows_the_settings(
    build_app: Any, dispose: list[FastAPI], restore_logging: None
) -> None:
    settings = ObservabilitySettings()
    assert settings.model_dump() == {
        "log_level": "INFO",
        "json_logs": True,
        "metrics_enabled": True,
        "otlp_endpoint": None,
        "metrics_token": None,
    }
    app = build_app("off")
    dispose.append(app)
    install_observability(
        app, service="off", settings=ObservabilitySettings(metrics_enabled=False), log_stream=io.StringIO()
    )
    assert getattr(app.state, "metrics_registry", None) is None
    assert getattr(app.state, "tracer_provider", None) is None

    app = build_app("on")
    dispose.append(app)
    await _create_tables(app)
    install_observability(app, service="on", settings=settings, outbox_models=MODELS, log_stream=io.StringIO())
    async with _client(app) as client:
        samples = await _scrape(client)
    assert _value(samples, "outbox_dead_letters") == 0


async def test_remote_scrapes_need_a_token_or_a_monitoring_role(
    build_app: Any, dispose: list[FastAPI], token_factory: Any
) -> None:
    from pydantic import SecretStr

    app = build_app()
    dispose.append(app)
    install_observability(
        app, service="t", settings=ObservabilitySettings(metrics_token=SecretStr("scrape-me")), log_stream=io.StringIO()
    )
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as remote:
        assert (await remote.get("/metrics")).status_code == 401
        assert (await remote.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (await remote.get("/metrics", headers={"Authorization": "Bearer scrape-me"})).status_code == 200
        drafter = token_factory.headers("a", ["drafter"], "VPUB")
        assert (await remote.get("/metrics", headers=drafter)).status_code == 403
        monitor = token_factory.headers("b", ["monitor"], "VPUB")
        assert (await remote.get("/metrics", headers=monitor)).status_code == 200
    async with _client(app) as local:
        assert (await local.get("/metrics")).status_code == 200  # a node-local agent on loopback
