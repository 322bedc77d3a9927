"""report-api pushes its obligation.* events as Standard Webhooks to subscribers, over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from report_testing import Api
from standardwebhooks.webhooks import Webhook

from common.outbox import Relay
from report_api.events.models import OUTBOX
from report_api.events.service import webhook_audience


@dataclass
class Inbox:
    secret: str = ""
    fail: bool = False
    posts: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def _receiver_app(inbox: Inbox) -> FastAPI:
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        body = await request.body()
        headers = {k: request.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        inbox.posts.append(headers["webhook-id"])
        if inbox.fail:
            return Response(status_code=503)
        # the reference implementation of Standard Webhooks must accept the signature
        inbox.events.append(Webhook(inbox.secret).verify(body, headers))
        return Response(status_code=204)

    return app


@pytest.fixture
def receiver() -> Iterator[tuple[Inbox, str]]:
    inbox = Inbox()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(_receiver_app(inbox), log_level="warning", lifespan="off", http="h11"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield inbox, f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


async def test_subscribers_get_signed_events_retries_dead_letters_and_replay(
    api: Api, app: FastAPI, receiver: tuple[Inbox, str]
) -> None:
    inbox, url = receiver
    settings = app.state.settings.webhooks
    settings.allow_hosts = [url.rsplit("/", 1)[0]]  # an entry names its port: http://127.0.0.1:N
    settings.max_attempts = 2
    integration = api.actors.integration
    created = await api.client.post(
        "/v1/webhook-subscriptions", json={"url": url, "event_types": ["obligation.*"]}, headers=integration
    )
    assert created.status_code == 201, created.text
    inbox.secret = created.json()["secret"]
    sub_id = created.json()["subscription"]["id"]
    listed = (await api.client.get("/v1/webhook-subscriptions", headers=integration)).json()
    assert [s["id"] for s in listed] == [sub_id] and inbox.secret not in str(listed)

    directive = await api.dispatch()
    ob = await api.obligation_of("SNV", directive["id"])
    await api.acknowledge(ob["id"], "SNV")
    t0 = api.clock()
    async with Relay(app.state.sessionmaker, OUTBOX, settings, audience=webhook_audience(app.state.settings)) as relay:
        await relay.step(t0)
        assert [(e["type"], e["data"]["unit_code"]) for e in inbox.events] == [("obligation.acknowledged", "SNV")]
        assert inbox.events[0]["source"] == "report-api"

        # a failing receiver: retried, then dead-lettered after max_attempts
        inbox.fail = True
        other = await api.obligation_of("X31299", directive["id"])
        await api.acknowledge(other["id"], "X31299")
        await relay.step(t0)
        await relay.deliver_due(t0 + timedelta(days=1))
        dead = await api.ok("GET", f"/v1/webhook-subscriptions/{sub_id}/deliveries?status=dead", integration)
        assert len(dead["items"]) == 1 and dead["items"][0]["attempts"] == 2
        assert dead["items"][0]["last_error"] == "HTTP 503"
        assert await relay.deliver_due(t0 + timedelta(days=2)) == 0  # dead letters wait for a replay

        inbox.fail = False
        replay_url = f"/v1/webhook-subscriptions/{sub_id}/deliveries/{dead['items'][0]['id']}/replay"
        assert (await api.ok("POST", replay_url, integration))["requeued"] == 1
        assert (await api.ok("POST", replay_url, integration))["requeued"] == 0  # already waiting
        assert await relay.deliver_due(t0 + timedelta(days=2)) == 1
    assert [(e["type"], e["data"]["unit_code"]) for e in inbox.events] == [
        ("obligation.acknowledged", "SNV"),
        ("obligation.acknowledged", "X31299"),
    ]
    delivered = await api.ok("GET", f"/v1/webhook-subscriptions/{sub_id}/deliveries", integration)
    assert {d["status"] for d in delivered["items"]} == {"delivered"}


async def test_subscriptions_are_checked_and_owned(api: Api, app: FastAPI) -> None:
    integration = api.actors.integration
    for bad in ("http://169.254.169.254/latest", "http://127.0.0.1:9/hook", "ftp://example.org/x"):
        refused = await api.client.post("/v1/webhook-subscriptions", json={"url": bad}, headers=integration)
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    for caller in (api.actors.unit_officer("SNV"), api.actors.monitor, api.actors.foreign_monitor):
        assert (await api.client.get("/v1/webhook-subscriptions", headers=caller)).status_code == 403
    app.state.settings.webhooks.allow_hosts = ["http://127.0.0.1:9"]
    created = await api.ok(
        "POST", "/v1/webhook-subscriptions", integration, {"url": "http://127.0.0.1:9/hook"}, status=201
    )
    sub_id = created["subscription"]["id"]
    # another client, and the same client name in a unit: neither owns it (owner = client + unit)
    for stranger in (
        api.actors.tokens.headers("eoffice-2", ["integration"], "VPUB"),
        api.actors.tokens.headers("eoffice", ["integration"], "SNV"),
    ):
        assert (await api.client.get("/v1/webhook-subscriptions", headers=stranger)).json() == []
        for method, path in (
            ("POST", f"/v1/webhook-subscriptions/{sub_id}/rotate-secret"),
            ("DELETE", f"/v1/webhook-subscriptions/{sub_id}"),
            ("GET", f"/v1/webhook-subscriptions/{sub_id}/deliveries"),
        ):
            assert (await api.client.request(method, path, headers=stranger)).status_code == 404
    assert [s["id"] for s in await api.ok("GET", "/v1/webhook-subscriptions", integration)] == [sub_id]
    # the Office's admin sees every subscription and who owns it, not its secret prefixes
    seen = await api.ok("GET", "/v1/webhook-subscriptions", api.actors.admin)
    assert [(s["id"], s["owner"], s["owner_unit"]) for s in seen] == [
        (sub_id, created["subscription"]["owner"], "VPUB")
    ]
    assert "secrets" not in seen[0]
    rotated = await api.ok("POST", f"/v1/webhook-subscriptions/{sub_id}/rotate-secret", integration)
    assert rotated["secret"] != created["secret"] and len(rotated["subscription"]["secrets"]) == 2
    gone = await api.client.delete(f"/v1/webhook-subscriptions/{sub_id}", headers=integration)
    assert gone.status_code == 204
    assert (await api.ok("GET", "/v1/webhook-subscriptions", integration))[0]["active"] is False
