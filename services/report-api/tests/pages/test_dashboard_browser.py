"""The Office's dashboard in headless Chromium: counts in the chart, the cards and the unit filter."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import sync_playwright
from report_testing import VALID_REPORT, Actors, Clock, directive_payload, dispatched, small_addressees

from common.settings import DatabaseSettings
from common.testing import TokenFactory
from common.webhooks import generate_secret, signature_headers
from report_api.cli import migrate
from report_api.main import create_app
from report_api.settings import Settings

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path, token_factory: TokenFactory) -> Iterator[tuple[str, str, Clock]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'report.db'}"
    migrate(url)
    secret = generate_secret()
    settings = Settings(
        database=DatabaseSettings(url=url),
        auth=token_factory.auth,
        webhook_secrets=secret,
        evidence_dir=tmp_path / "ev",
    )
    clock = Clock()
    app = create_app(settings, clock=clock)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", secret, clock
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _post(http: httpx.Client, url: str, headers: dict[str, str], body: Any, status: int) -> Any:
    response = http.post(url, headers=headers, json=body)
    assert response.status_code == status, response.text
    return response.json()


@pytest.mark.browser
def test_dashboard_shows_the_counts_and_filters_units(
    served: tuple[str, str, Clock], token_factory: TokenFactory
) -> None:
    base, secret, clock = served
    actors = Actors(token_factory)
    addressees = [
        *small_addressees(),
        {"unit_code": "STC", "unit_name": "Sở Tài chính", "group_code": "department"},
        {"unit_code": "X31303", "unit_name": "Ủy ban nhân dân xã Đông Thuận", "group_code": "commune_level"},
    ]
    directive = directive_payload()
    envelope = dispatched(directive, addressees)
    body = json.dumps(envelope).encode()
    with httpx.Client(base_url=base) as http:
        headers = signature_headers(secret, envelope["id"], body, timestamp=int(clock().timestamp()))
        assert http.post("/v1/inbox/events", content=body, headers=headers).status_code == 200
        ids = {}
        for unit in ("X31299", "SNV", "P31120", "STC"):
            page = http.get("/v1/me/obligations", headers=actors.unit_officer(unit)).json()
            ids[unit] = page["items"][0]["id"]
        for unit in ("X31299", "SNV", "STC"):
            _post(http, f"/v1/obligations/{ids[unit]}/acknowledge", actors.unit_officer(unit), None, 200)
        for unit in ("X31299", "SNV"):
            _post(
                http, f"/v1/obligations/{ids[unit]}/submissions", actors.unit_officer(unit), {"data": VALID_REPORT}, 201
            )
        _post(http, f"/v1/obligations/{ids['X31299']}/review", actors.monitor, {"decision": "accept"}, 200)
        clock.set_local(date(2026, 12, 16))  # deadline 11/12/2026 passed: STC, P31120 and X31303 are overdue
        token = actors.monitor["Authorization"].split()[1]
        unit_token = actors.unit_officer("SNV")["Authorization"].split()[1]
        assert http.get(f"/dashboard/{directive['id']}", params={"token": unit_token}).status_code == 403
        assert http.get(f"/dashboard/{directive['id']}").status_code == 401

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            external: list[str] = []
            page.on("request", lambda r: None if r.url.startswith(base) else external.append(r.url))
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            response = page.goto(f"{base}/dashboard/{directive['id']}?token={token}")
            assert response is not None and response.status == 200
            assert page.locator("h1").inner_text() == "Bảng theo dõi tình hình thực hiện văn bản"
            bars = {
                bar.get_attribute("data-status"): int(bar.get_attribute("data-count") or "-1")
                for bar in page.locator("#status-chart g.bar").all()
            }
            assert bars == {
                "assigned": 2,
                "acknowledged": 1,
                "submitted": 1,
                "accepted": 1,
                "returned": 0,
                "overdue": 3,
            }
            assert page.get_by_test_id("total").inner_text() == "5"
            assert page.get_by_test_id("on-time").inner_text() == "2"
            assert page.get_by_test_id("overdue").inner_text() == "3"
            assert page.locator("#totals tr[data-key='facebook_followers'] .value").inner_text() == "120"
            assert page.locator("#visible-count").inner_text() == "5"
            page.select_option("#filter-status", "overdue")
            assert page.locator("#visible-count").inner_text() == "3"
            visible = page.locator("#units tbody tr:visible td:first-child").all_inner_texts()
            assert sorted(visible) == ["P31120", "STC", "X31303"]
            page.fill("#filter-text", "Đông Thuận")
            assert page.locator("#visible-count").inner_text() == "1"
            page.select_option("#filter-status", "")
            page.fill("#filter-text", "sở")
            assert sorted(page.locator("#units tbody tr:visible td:first-child").all_inner_texts()) == ["SNV", "STC"]
            assert external == [] and errors == []
        finally:
            browser.close()
