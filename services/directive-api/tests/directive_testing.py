"""Helpers for directive-api's tests (importable: the folder is on pytest's pythonpath)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from common.testing import TokenFactory
from directive_api.seed.loader import read_json

PEOPLE = {p["id"]: p for p in read_json("people.json")}


@dataclass
class Clock:
    """A settable clock for the service under test."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 27, 2, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Actors:
    """Authorization headers for the seed people and for unit officers."""

    tokens: TokenFactory

    def person(self, person_id: str) -> dict[str, str]:
        person = PEOPLE[person_id]
        return self.tokens.headers(person_id, person["roles"], person["unit_code"])

    def unit_officer(self, unit: str) -> dict[str, str]:
        return self.tokens.headers(f"officer-{unit.lower()}", ["unit_officer"], unit)

    @property
    def drafter(self) -> dict[str, str]:
        return self.person("tran-van-an")

    @property
    def reviewer(self) -> dict[str, str]:
        return self.person("pham-thi-binh")

    @property
    def signer(self) -> dict[str, str]:
        return self.person("le-xuan-hoa")

    @property
    def other_signer(self) -> dict[str, str]:
        return self.person("nguyen-trong-son")

    @property
    def clerk(self) -> dict[str, str]:
        return self.person("vo-thi-thu")

    @property
    def monitor(self) -> dict[str, str]:
        return self.person("dang-minh-khoa")


class Api:
    """Small helpers to drive a document through the API in tests."""

    def __init__(self, client: httpx.AsyncClient, actors: Actors) -> None:
        self.client = client
        self.actors = actors

    async def create(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.client.post("/v1/directives", json=body, headers=headers or self.actors.drafter)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    async def act(
        self, doc: dict[str, Any], action: str, headers: dict[str, str], comment: str | None = None
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/directives/{doc['id']}/{action}",
            json={"comment": comment} if comment else None,
            headers={**headers, "If-Match": doc["etag"]},
        )

    async def advance(
        self, doc: dict[str, Any], action: str, headers: dict[str, str], comment: str | None = None
    ) -> dict[str, Any]:
        response = await self.act(doc, action, headers, comment)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    async def approved(self, body: dict[str, Any]) -> dict[str, Any]:
        doc = await self.create(body)
        doc = await self.advance(doc, "submit", self.actors.drafter)
        return await self.advance(doc, "approve", self.actors.signer)

    async def get(self, doc_id: str, headers: dict[str, str]) -> httpx.Response:
        return await self.client.get(f"/v1/directives/{doc_id}", headers=headers)

    async def history(self, doc_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(f"/v1/directives/{doc_id}/history", headers=self.actors.monitor)
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()
        return data


class ServerThread:
    """Serves an ASGI app with uvicorn on 127.0.0.1 in a background thread (for browser tests)."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
