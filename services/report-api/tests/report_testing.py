"""Helpers for report-api's tests (importable: the folder is on pytest's pythonpath)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Header, Query

from common.testing import TokenFactory
from common.webhooks import signature_headers

SEED_DIR = Path(__file__).resolve().parents[2] / "directive-api" / "src" / "directive_api" / "seed"
"""directive-api's seed files, read by path (services never import each other)."""

ADDRESSEE_GROUPS = ("department", "socio_political_org", "commune_level")


def read_seed(name: str) -> Any:
    return json.loads((SEED_DIR / name).read_text(encoding="utf-8"))


def seed_addressees() -> list[dict[str, Any]]:
    """The seed letter's Kính gửi: departments, socio-political organisations, communes/wards."""
    units = read_seed("can-tho-units.json")["units"]
    return [
        {"unit_code": u["code"], "unit_name": u["name"], "group_code": u["group"], "must_act": True}
        for u in units
        if u["group"] in ADDRESSEE_GROUPS
    ]


def seed_compliance() -> dict[str, Any]:
    compliance: dict[str, Any] = read_seed("seed_letter.json")["compliance"]
    return compliance


@dataclass
class Clock:
    """A settable clock for the service under test (UTC)."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 27, 2, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def set_local(self, day: date, hour: int = 9) -> None:
        """``hour`` o'clock in Việt Nam (UTC+7) on ``day``."""
        self.now = datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - (
            datetime(2000, 1, 1, 7, tzinfo=UTC) - datetime(2000, 1, 1, tzinfo=UTC)
        )


@dataclass
class Actors:
    """Authorization headers for the Office and unit officers."""

    tokens: TokenFactory
    _cache: dict[str, dict[str, str]] = field(default_factory=dict)

    def unit_officer(self, unit: str) -> dict[str, str]:
        """Headers of an officer of ``unit`` (one token per unit, reused like a real client would)."""
        if unit not in self._cache:
            self._cache[unit] = self.tokens.headers(f"officer-{unit.lower()}", ["unit_officer"], unit)
        return self._cache[unit]

    @property
    def monitor(self) -> dict[str, str]:
        return self.tokens.headers("dang-minh-khoa", ["monitor"], "VPUB")

    @property
    def admin(self) -> dict[str, str]:
        return self.tokens.headers("admin-vpub", ["admin"], "VPUB")

    @property
    def integration(self) -> dict[str, str]:
        """The Office's e-office integration: reads every unit's events."""
        return self.tokens.headers("eoffice", ["integration"], "VPUB")

    def unit_integration(self, unit: str) -> dict[str, str]:
        """A unit's e-office integration: reads the events of its unit's obligations only."""
        return self.tokens.headers(f"eoffice-{unit.lower()}", ["integration"], unit)

    @property
    def foreign_monitor(self) -> dict[str, str]:
        """A monitor of another unit: not the Office."""
        return self.tokens.headers("monitor-snv", ["monitor"], "SNV")


def directive_payload(
    *,
    directive_id: str | None = None,
    issued_on: date = date(2026, 11, 27),
    compliance: dict[str, Any] | None = None,
    notation: str = "01/VPUB-TTĐH",
) -> dict[str, Any]:
    return {
        "id": directive_id or str(uuid.uuid4()),
        "public_id": uuid.uuid4().hex[:12],
        "doc_type": "CV",
        "notation": notation,
        "subject": "V/v theo dõi, tương tác Kênh thông tin chính thức của Cổng Thông tin điện tử thành phố",
        "issuer_code": "VPUB",
        "issued_on": issued_on.isoformat(),
        "urgency": None,
        "compliance": compliance if compliance is not None else seed_compliance(),
    }


_sequence = iter(range(1, 10**9))


def event(
    event_type: str, data: dict[str, Any], *, subject: str | None = None, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "type": event_type,
        "occurred_at": "2026-11-27T02:15:00Z",
        "source": "directive-api",
        "subject": subject or data.get("directive", {}).get("id", "x"),
        "sequence": next(_sequence),
        "data": data,
    }


def dispatched(directive: dict[str, Any], addressees: list[dict[str, Any]]) -> dict[str, Any]:
    return event(
        "directive.dispatched",
        {"directive": directive, "addressees": addressees, "information_recipients": []},
    )


def small_addressees() -> list[dict[str, Any]]:
    return [
        {"unit_code": "X31299", "unit_name": "Ủy ban nhân dân xã Thới Lai", "group_code": "commune_level"},
        {"unit_code": "SNV", "unit_name": "Sở Nội vụ", "group_code": "department"},
        {"unit_code": "P31120", "unit_name": "Ủy ban nhân dân phường Cái Khế", "group_code": "commune_level"},
    ]


VALID_REPORT = {
    "facebook_followers": 120,
    "zalo_followers": 95,
    "posts_shared": 14,
    "website_links_portal": True,
    "website_link_url": "https://thoilai.cantho.gov.vn/",
    "notes": "Đã phổ biến đến toàn thể cán bộ, công chức.",
}

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class Api:
    """Small helpers to drive report-api in tests."""

    def __init__(self, client: httpx.AsyncClient, actors: Actors, secret: str, clock: Clock, app: Any = None) -> None:
        self.client = client
        self.actors = actors
        self.secret = secret
        self.clock = clock
        self.app = app

    async def sequence_events(self) -> None:
        """What the relay does before events appear in the feed: give them their sequence."""
        from common.db import transaction
        from common.outbox import Relay
        from report_api.events.models import OUTBOX

        async with Relay(self.app.state.sessionmaker, OUTBOX) as relay, transaction(self.app.state.sessionmaker) as s:
            await relay.fan_out(s)

    async def deliver(self, envelope: dict[str, Any], *, secret: str | None = None) -> httpx.Response:
        body = json.dumps(envelope, ensure_ascii=False).encode()
        headers = signature_headers(
            secret or self.secret, envelope["id"], body, timestamp=int(self.clock().timestamp())
        )
        return await self.client.post(
            "/v1/inbox/events", content=body, headers={**headers, "content-type": "application/json"}
        )

    async def dispatch(self, addressees: list[dict[str, Any]] | None = None, **kwargs: Any) -> dict[str, Any]:
        directive = directive_payload(**kwargs)
        response = await self.deliver(
            dispatched(directive, addressees if addressees is not None else small_addressees())
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "applied"
        return directive

    async def inbox(self, unit: str, **params: Any) -> dict[str, Any]:
        response = await self.client.get("/v1/me/obligations", params=params, headers=self.actors.unit_officer(unit))
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    async def obligation_of(self, unit: str, directive_id: str) -> dict[str, Any]:
        page = await self.inbox(unit, limit=200)
        found = [o for o in page["items"] if o["directive"]["id"] == directive_id]
        assert len(found) == 1, page
        return found[0]

    async def get(self, obligation_id: str, headers: dict[str, str]) -> httpx.Response:
        return await self.client.get(f"/v1/obligations/{obligation_id}", headers=headers)

    async def ok(self, method: str, url: str, headers: dict[str, str], json_body: Any = None, status: int = 200) -> Any:
        response = await self.client.request(method, url, headers=headers, json=json_body)
        assert response.status_code == status, response.text
        return response.json()

    async def acknowledge(self, obligation_id: str, unit: str) -> Any:
        return await self.ok("POST", f"/v1/obligations/{obligation_id}/acknowledge", self.actors.unit_officer(unit))

    async def submit(self, obligation_id: str, unit: str, data: dict[str, Any]) -> Any:
        return await self.ok(
            "POST",
            f"/v1/obligations/{obligation_id}/submissions",
            self.actors.unit_officer(unit),
            {"data": data},
            status=201,
        )

    async def review(self, obligation_id: str, decision: str, comment: str | None = None) -> Any:
        return await self.ok(
            "POST",
            f"/v1/obligations/{obligation_id}/review",
            self.actors.monitor,
            {"decision": decision, "comment": comment},
        )

    async def compliance(self, directive_id: str) -> dict[str, Any]:
        data: dict[str, Any] = await self.ok("GET", f"/v1/directives/{directive_id}/compliance", self.actors.monitor)
        return data


def fake_feed(events: list[dict[str, Any]], token: str) -> FastAPI:
    """A stand-in of directive-api's pull feed serving ``events`` to the bearer of ``token``."""
    feed = FastAPI()

    @feed.get("/v1/events")
    async def read(after: int = Query(0), limit: int = Query(100), authorization: str = Header("")) -> dict[str, Any]:
        assert authorization == f"Bearer {token}"
        items = [e for e in events if e["sequence"] > after][:limit]
        return {"items": items, "next_cursor": items[-1]["sequence"] if items else None}

    return feed
