"""The pages in Debian's Chromium, signed in through the development OpenID Connect provider.

The provider (scripts/dev_oidc_provider.py) runs as its own process and speaks discovery, JWKS and
the code flow with PKCE; report-api runs in uvicorn. Screenshots of each page at phone and desktop
widths are written to ``var/screenshots/report-api/`` (override with ``SCREENSHOT_DIR``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import uvicorn
from playwright.sync_api import Page, sync_playwright
from report_testing import (
    PNG_BYTES,
    VALID_REPORT,
    Actors,
    Clock,
    directive_payload,
    dispatched,
    seed_compliance,
    small_addressees,
)

from common.settings import DatabaseSettings
from common.testing import TokenFactory
from common.webhooks import generate_secret, signature_headers
from report_api.cli import migrate
from report_api.main import create_app
from report_api.settings import PagesSettings, Settings

ROOT = Path(__file__).resolve().parents[4]
SHOTS = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "var" / "screenshots" / "report-api")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PEOPLE = [
    {"id": "dang-minh-khoa", "name": "Đặng Minh Khoa", "roles": ["monitor"], "unit": "VPUB"},
    {"id": "can-bo-cai-khe", "name": "Nguyễn Thị Mai", "roles": ["unit_officer"], "unit": "P31120"},
]
WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait(url: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


@dataclass
class Stack:
    base: str
    idp: str
    secret: str
    clock: Clock


@pytest.fixture
def stack(tmp_path: Path, token_factory: TokenFactory) -> Iterator[Stack]:
    people = tmp_path / "people.json"
    people.write_text(json.dumps(PEOPLE, ensure_ascii=False), encoding="utf-8")
    idp_port = _free_port()
    idp = f"http://127.0.0.1:{idp_port}"
    provider = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts" / "dev_oidc_provider.py"),
            "--port",
            str(idp_port),
            "--people",
            str(people),
            "--client",
            "report-api:client-secret",
        ]
    )
    url = f"sqlite+aiosqlite:///{tmp_path / 'report.db'}"
    migrate(url)
    secret = generate_secret()
    settings = Settings(
        database=DatabaseSettings(url=url),
        auth=token_factory.auth,
        webhook_secrets=secret,
        evidence_dir=tmp_path / "ev",
        pages=PagesSettings(
            oidc_issuer=idp, oidc_client_secret="client-secret", session_secret="s" * 32, cookie_secure=False
        ),
    )
    clock = Clock()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, clock=clock), host="127.0.0.1", port=port, log_level="warning", ws="none")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait(f"{idp}/.well-known/openid-configuration")
        _wait(f"http://127.0.0.1:{port}/healthz")
        yield Stack(f"http://127.0.0.1:{port}", idp, secret, clock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        provider.terminate()
        provider.wait(timeout=10)


def _seed(stack: Stack, actors: Actors) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two followed letters; in the one about Cái Khế, SNV has reported on time, two units are silent."""
    cai_khe = directive_payload(notation="01/VPUB-TTĐH")
    cai_khe["subject"] = "V/v hỗ trợ phường Cái Khế triển khai Kênh thông tin chính thức"
    other = directive_payload(notation="02/VPUB-TTĐH")
    with httpx.Client(base_url=stack.base) as http:
        for directive in (cai_khe, other):
            envelope = dispatched(directive, small_addressees())
            body = json.dumps(envelope).encode()
            headers = signature_headers(stack.secret, envelope["id"], body, timestamp=int(stack.clock().timestamp()))
            assert http.post("/v1/inbox/events", content=body, headers=headers).status_code == 200
        snv = actors.unit_officer("SNV")
        ob = next(
            o
            for o in http.get("/v1/me/obligations", headers=snv).json()["items"]
            if o["directive"]["id"] == cai_khe["id"]
        )
        assert http.post(f"/v1/obligations/{ob['id']}/acknowledge", headers=snv).status_code == 200
        submitted = http.post(f"/v1/obligations/{ob['id']}/submissions", headers=snv, json={"data": VALID_REPORT})
        assert submitted.status_code == 201
    return cai_khe, other


def _shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)


def test_without_a_session_pages_send_the_browser_to_sign_in(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base) as http:
        first = http.get("/pages?q=cai+khe")
        assert first.status_code == 303 and first.headers["location"] == "/sign-in?next=%2Fpages%3Fq%3Dcai%2Bkhe"
        start = http.get(first.headers["location"])
        assert start.status_code == 303
        target = urlparse(start.headers["location"])
        query = parse_qs(target.query)
        assert f"{target.scheme}://{target.netloc}" == stack.idp and target.path == "/authorize"
        assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
        assert query["redirect_uri"] == [f"{stack.base}/auth/callback"] and "token" not in start.headers["location"]
        cookie = start.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/auth" in cookie
        # a callback that was not started here, or with another state, signs nobody in
        assert http.get("/auth/callback", params={"code": "x", "state": "forged"}).status_code == 401
        # a full URL as the way back is refused (open redirect): back to the portfolio instead
        elsewhere = http.get("/sign-in", params={"next": "//evil.example/x"})
        assert elsewhere.status_code == 303
    with httpx.Client(base_url=stack.base) as anonymous:
        assert anonymous.post("/pages/documents/x/remind-silent", data={"csrf": "x"}).status_code == 303


@pytest.mark.browser
def test_office_reminds_a_commune_reports_with_evidence_and_is_accepted(
    stack: Stack, token_factory: TokenFactory, tmp_path: Path
) -> None:
    actors = Actors(token_factory)
    cai_khe, _ = _seed(stack, actors)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=WIDTHS["desktop"], locale="vi-VN")
            page = context.new_page()
            outside: list[str] = []
            page.on("request", lambda r: None if r.url.startswith((stack.base, stack.idp)) else outside.append(r.url))
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            page.goto(f"{stack.base}/pages")
            assert page.url.startswith(f"{stack.idp}/authorize")  # 303 to sign-in, then to the provider
            _shoot(page, "01-dang-nhap")
            page.get_by_role("button", name="Đặng Minh Khoa").click()
            page.wait_for_url(f"{stack.base}/pages")
            cookies = {c["name"]: c for c in context.cookies()}
            session = cookies["report_session"]
            assert session["httpOnly"] is True and session["sameSite"] == "Lax"
            assert page.evaluate("document.cookie") == ""  # not readable by scripts
            assert page.get_by_test_id("row").count() == 2
            _shoot(page, "02-danh-muc")

            page.get_by_test_id("search").fill("cai khe")
            page.get_by_role("button", name="Lọc").click()
            page.wait_for_url("**/pages?q=cai+khe*")
            rows = page.get_by_test_id("row")
            assert rows.count() == 1 and "Cái Khế" in rows.first.inner_text()
            # SNV reported on time; the others' deadline (11/12) is still ahead: 1 of 1, not 1 of 3
            assert page.get_by_test_id("rate").inner_text() == "100,0\u00a0%"
            assert " ".join(page.get_by_test_id("trend").inner_text().split()) == "▲ 1 (trước: 0)"
            remind = page.get_by_test_id("remind")
            assert remind.inner_text() == "Nhắc 2 đơn vị chưa báo cáo"
            _shoot(page, "03-tim-kiem")
            with page.expect_download() as workbook:
                page.get_by_role("link", name="Bảng tính (XLSX)").click()
            assert workbook.value.suggested_filename == "tinh-hinh-bao-cao-01-VPUB-TTĐH-2026-11-27.xlsx"
            assert Path(workbook.value.path()).read_bytes()[:2] == b"PK"
            remind.click()
            page.wait_for_selector("[data-testid=notice]")
            assert page.get_by_test_id("notice").inner_text() == "Đã gửi nhắc nhở đến 2 đơn vị chưa báo cáo."
            assert page.get_by_test_id("row").count() == 1  # back on the same filtered page
            _shoot(page, "04-da-nhac")

            # the document's dashboard opens with the session too (no token in the URL)
            page.get_by_role("link", name="01/VPUB-TTĐH").click()
            page.wait_for_url(f"{stack.base}/dashboard/{cai_khe['id']}")
            assert page.locator("h1").inner_text() == "Bảng theo dõi tình hình thực hiện văn bản"
            day = page.locator("#time-chart rect.day")
            assert day.count() == 1 and day.first.get_attribute("data-count") == "1"  # SNV's report, 27/11
            assert page.locator("#groups tr[data-group]").count() == 2  # departments and communes
            assert page.get_by_role("link", name="Tải bảng tính (XLSX)").count() == 1
            _shoot(page, "05-bang-theo-doi")

            page.goto(f"{stack.base}/pages")
            page.get_by_role("button", name="Đăng xuất").click()
            page.wait_for_selector("text=Bạn đã đăng xuất.")
            page.goto(f"{stack.base}/pages")
            assert page.url.startswith(f"{stack.idp}/authorize")
            assert outside == [] and errors == []

            # a commune officer: the inbox, the letter, the generated form with an evidence file
            page.get_by_role("button", name="Nguyễn Thị Mai").click()
            page.wait_for_url(f"{stack.base}/pages/inbox")
            assert page.get_by_test_id("inbox-row").count() == 2
            _shoot(page, "06-hop-thu-don-vi")
            page.get_by_role("link", name="01/VPUB-TTĐH").click()
            page.get_by_role("button", name="Xác nhận đã nhận văn bản").click()
            page.wait_for_selector("[data-testid=notice]")
            assert page.get_by_test_id("status").inner_text() == "Đã tiếp nhận"
            labels = {f["key"]: f["label"] for f in seed_compliance()["report_fields"]}
            page.get_by_label(labels["facebook_followers"]).fill("-3")
            page.get_by_label(labels["website_link_url"]).fill("ftp://caikhe.cantho.gov.vn")
            page.get_by_role("button", name="Gửi báo cáo").click()
            page.wait_for_selector("[data-testid=error-facebook_followers]")
            assert page.get_by_test_id("error-facebook_followers").inner_text() == "Không được nhỏ hơn 0."
            assert page.get_by_test_id("error-zalo_followers").inner_text() == "Bắt buộc nhập."
            assert "http" in page.get_by_test_id("error-website_link_url").inner_text()
            _shoot(page, "07-bieu-mau-loi")
            page.get_by_label(labels["facebook_followers"]).fill("135")
            page.get_by_label(labels["zalo_followers"]).fill("98")
            page.get_by_label(labels["posts_shared"]).fill("12")
            page.get_by_role("group", name=labels["website_links_portal"]).get_by_label("Có").check()
            page.get_by_label(labels["website_link_url"]).fill("https://caikhe.cantho.gov.vn/")
            page.get_by_label(labels["notes"]).fill("Đã phổ biến đến cán bộ, công chức phường Cái Khế.")
            evidence = tmp_path / "minh-chung.png"
            evidence.write_bytes(PNG_BYTES)
            page.get_by_label(labels["evidence"]).set_input_files(str(evidence))
            _shoot(page, "08-bieu-mau")
            with page.expect_request(lambda r: r.url.endswith("/report") and r.method == "POST") as sent:
                page.get_by_role("button", name="Gửi báo cáo").click()
            assert sent.value.resource_type == "xhr"  # with a file chosen, the upload shows its progress
            page.wait_for_selector("[data-testid=notice]")
            assert page.get_by_test_id("status").inner_text() == "Đã báo cáo, chờ duyệt"
            assert page.get_by_test_id("review").first.inner_text() == "Chờ duyệt"
            obligation_url = page.url.split("?")[0]
            page.get_by_role("button", name="Đăng xuất").click()

            # the Office reviews it on the same page
            page.goto(obligation_url)
            page.get_by_role("button", name="Đặng Minh Khoa").click()
            page.wait_for_url(obligation_url)
            _shoot(page, "09-duyet")
            page.get_by_role("button", name="Duyệt", exact=True).click()
            page.wait_for_selector("[data-testid=notice]")
            page.get_by_role("button", name="Đăng xuất").click()

            # the officer sees it accepted, with the evidence file downloadable
            page.goto(obligation_url)
            page.get_by_role("button", name="Nguyễn Thị Mai").click()
            page.wait_for_url(obligation_url)
            assert page.get_by_test_id("status").inner_text() == "Đã duyệt"
            assert page.get_by_test_id("review").first.inner_text() == "Đã duyệt"
            with page.expect_download() as download:
                page.get_by_role("link", name="minh-chung.png").click()
            assert Path(download.value.path()).read_bytes() == PNG_BYTES
            _shoot(page, "10-da-duyet")
            # the refused form answered 422 on purpose (Chromium logs any 4xx document as an error)
            assert outside == [] and [e for e in errors if "422" not in e] == []
        finally:
            browser.close()

    with httpx.Client(base_url=stack.base) as http:
        for unit in ("X31299", "P31120"):
            items = http.get("/v1/me/obligations", headers=actors.unit_officer(unit)).json()["items"]
            ob = next(o for o in items if o["directive"]["id"] == cai_khe["id"])
            assert ob["reminder_counts"]["nhac_nho"] == 1
        detail = http.get(f"/v1/obligations/{ob['id']}", headers=actors.unit_officer("P31120")).json()
        assert detail["status"] == "accepted" and len(detail["evidence"]) == 1  # the refused form stored nothing
        report = detail["submissions"][0]["data"]
        assert report["facebook_followers"] == 135 and report["website_links_portal"] is True
        assert report["evidence"] == [detail["evidence"][0]["id"]]
