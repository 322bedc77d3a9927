"""A real HTTP receiver (uvicorn in a thread) for the outbox tests; re-exports the test tables."""

from __future__ import annotations

import asyncio
import collections
import socket
import threading
import time
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, Request, Response
from standardwebhooks.webhooks import Webhook

from common.outbox import receive
from common.webhooks import WebhookVerificationError


@dataclass
class ReceiverState:
    """What the receiver saw and how it behaves."""

    secrets: list[str] = field(default_factory=list)
    fail_first: int = 0  # answer 500 to this many POSTs (across all events)
    always_fail: bool = False
    fail_status: int = 500  # the status of those failures
    fail_body: bytes = b""
    delay: float = 0.0  # seconds before applying (a slow receiver)
    raw_posts: list[str] = field(default_factory=list)  # webhook-id of every POST
    applied: collections.Counter[str] = field(default_factory=collections.Counter)
    duplicates: int = 0
    reference_verified: int = 0
    bodies: dict[str, bytes] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


def build_app(state: ReceiverState) -> FastAPI:
    app = FastAPI()
    processed: set[str] = set()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        msg_id = headers.get("webhook-id", "")
        state.raw_posts.append(msg_id)
        if state.always_fail or state.fail_first > 0:
            state.fail_first -= 1
            return Response(status_code=state.fail_status, content=state.fail_body)
        # The reference implementation must accept it with each active secret alone.
        for secret in state.secrets:
            Webhook(secret).verify(
                body, {k: headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
            )
            state.reference_verified += 1
        if state.delay:
            await asyncio.sleep(state.delay)

        async def seen(event_id: str) -> bool:  # claim-first, like claim_received in one transaction
            if event_id in processed:
                return True
            processed.add(event_id)
            return False

        try:
            message = await receive(headers, body, state.secrets, seen)
        except WebhookVerificationError:
            return Response(status_code=401)
        if message.duplicate:
            state.duplicates += 1
        else:
            state.applied[message.msg_id] += 1
            state.bodies[message.msg_id] = body
            state.headers[message.msg_id] = headers
        return Response(status_code=204)

    return app


class Receiver:
    """A real HTTP server (uvicorn) on 127.0.0.1 in a background thread."""

    def __init__(self, state: ReceiverState) -> None:
        self.state = state
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(state), log_level="warning", lifespan="off", ws="none", http="h11", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("receiver did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
