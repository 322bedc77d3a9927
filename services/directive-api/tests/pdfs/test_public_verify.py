"""The public file-verification page (``/verify``): the hash lookup, the public full verification,
and a replaced document naming its replacement; in HTTP on SQLite and PostgreSQL and in Chromium."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from directive_testing import CHROMIUM_ARGS, Actors, Api, ServerThread
from fastapi import FastAPI

from directive_api.main import create_app
from directive_api.settings import Settings

ROOT = Path(__file__).resolve().parents[4]
SHOTS = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "var" / "screenshots" / "directive-api")
WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


async def _issued(api: Api, actors: Actors, letter: dict[str, Any]) -> dict[str, Any]:
    return await api.advance(await api.approved(letter), "issue", actors.clerk)


async def _issued_pdf(api: Api, actors: Actors, doc: dict[str, Any]) -> bytes:
    response = await api.client.get(f"/v1/directives/{doc['id']}/pdf", headers=actors.monitor)
    assert response.headers["x-document-file-kind"] == "issued"
    return response.content


async def _replaced(api: Api, actors: Actors, letter: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    old = await _issued(api, actors, letter)
    new = await _issued(api, actors, {**letter, "subject": "thay thế văn bản trước"})
    replaced = await api.client.post(
        f"/v1/directives/{old['id']}/replace",
        json={"replacement_id": new["id"]},
        headers={**actors.clerk, "If-Match": old["etag"]},
    )
    assert replaced.status_code == 200, replaced.text
    return replaced.json(), new


def _csp(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2] for d in policy.split(";") if d.strip()}


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


async def test_the_page_admits_only_its_own_style_and_script(api: Api) -> None:
    page = await api.client.get("/verify")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'lang="vi"' in page.text and "Kéo thả tệp PDF" in page.text
    csp = _csp(page)
    [style] = re.findall(r"<style>(.*?)</style>", page.text, re.DOTALL)
    [script] = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert csp["default-src"] == "'none'" and csp["connect-src"] == "'self'"
    assert csp["style-src"] == _hash(style) and csp["script-src"] == _hash(script)
    assert csp["frame-ancestors"] == "'none'" and csp["form-action"] == "'none'"
    assert "http://" not in page.text and "https://" not in page.text  # nothing loaded from elsewhere


async def test_the_hash_of_the_issued_pdf_names_the_document(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await _issued(api, actors, letter)
    pdf = await _issued_pdf(api, actors, doc)
    digest = hashlib.sha256(pdf).hexdigest()
    found = await api.client.get(f"/verify/by-hash/{digest.upper()}")
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["found"] is True and body["sha256"] == digest
    document = body["document"]
    assert document["notation"] == "01/VPUB-TTĐH" and document["issued_on"] == "2026-11-27"
    assert document["status"] == "issued" and "hợp lệ" in document["status_text"]
    assert document["issuer"] and document["subject"].startswith("V/v ")
    assert document["verify_url"] == f"https://vanban.cantho.gov.vn/verify/{doc['public_id']}"
    assert document["replaced_by"] is None and "id" not in document
    assert "01/VPUB-TTĐH" in body["message"]


async def test_other_hashes_are_not_found_and_malformed_ones_refused(
    api: Api, actors: Actors, letter: dict[str, Any]
) -> None:
    doc = await _issued(api, actors, letter)
    pdf = await _issued_pdf(api, actors, doc)
    changed = hashlib.sha256(pdf + b"\n").hexdigest()
    missing = await api.client.get(f"/verify/by-hash/{changed}")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["found"] is False and "không tìm thấy" in missing.json()["detail"]
    # A draft's preview is not an issued file.
    draft = await api.create(letter)
    preview = await api.client.get(f"/v1/directives/{draft['id']}/pdf", headers=actors.drafter)
    assert (await api.client.get(f"/verify/by-hash/{preview.headers['x-content-sha256']}")).status_code == 404
    for bad in ("abc", "g" * 64, "a" * 65, "%E1%BA%A1" * 8, "x" * 500):
        answer = await api.client.get(f"/verify/by-hash/{bad}")
        assert answer.status_code == 422, (bad, answer.status_code)
        assert answer.headers["content-type"] == "application/problem+json"
        assert "SHA-256" in answer.json()["detail"]


async def test_public_full_verification_answers_in_vietnamese(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    doc = await _issued(api, actors, letter)
    pdf = await _issued_pdf(api, actors, doc)
    headers = {"Content-Type": "application/pdf"}
    result = await api.client.post("/verify/file", content=pdf, headers=headers)
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["verdict"] == "valid" and body["verdict_text"].startswith("Tệp hợp lệ")
    assert body["document"]["notation"] == "01/VPUB-TTĐH"
    assert [s["signer"] for s in body["signatures"]] == ["Lê Xuân Hoa", "Văn phòng Ủy ban nhân dân thành phố Cần Thơ"]
    flipped = bytearray(pdf)
    # A byte of an embedded font (covered by both signatures, never parsed by the verifier; a byte of
    # an object stream would make the file unreadable instead).
    font = re.search(rb"/Length1 \d+[^>]*>>\s*stream\r?\n", pdf)
    assert font is not None
    flipped[font.end() + 100] ^= 0x01
    altered_response = await api.client.post("/verify/file", content=bytes(flipped), headers=headers)
    altered = altered_response.json()
    assert altered_response.status_code == 200, altered
    assert altered["verdict"] == "altered" and "bị thay đổi" in altered["verdict_text"]
    assert altered["document"] is None

    not_pdf = await api.client.post("/verify/file", content=b"<html>", headers=headers)
    assert not_pdf.status_code == 415 and "không phải là tệp PDF" in not_pdf.json()["detail"]
    wrong_type = await api.client.post("/verify/file", content=pdf, headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415 and "chỉ nhận tệp PDF" in wrong_type.json()["detail"]
    broken = await api.client.post("/verify/file", content=b"%PDF-1.7\nnot really", headers=headers)
    assert broken.status_code == 422 and "không đọc được" in broken.json()["detail"]
    app.state.pdf.settings.max_verify_bytes = 1000
    too_big = await api.client.post("/verify/file", content=pdf, headers=headers)
    assert too_big.status_code == 413 and "tệp quá lớn" in too_big.json()["detail"]


async def test_the_public_endpoints_share_the_rate_limit(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    app.state.settings.public_requests_per_minute = 3
    assert (await api.client.get("/verify")).status_code == 200
    assert (await api.client.get("/verify/by-hash/" + "0" * 64)).status_code == 404
    assert (
        await api.client.post("/verify/file", content=b"x", headers={"Content-Type": "text/plain"})
    ).status_code == 415
    for limited in (
        await api.client.get("/verify/by-hash/" + "0" * 64),
        await api.client.post("/verify/file", content=b"%PDF-1.7", headers={"Content-Type": "application/pdf"}),
    ):
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"] == "application/problem+json"
        assert "quá nhiều yêu cầu" in limited.json()["detail"]
    page = await api.client.get("/verify")
    assert page.status_code == 429 and "Quá nhiều yêu cầu" in page.text and int(page.headers["retry-after"]) >= 1


async def test_a_replaced_document_links_its_replacement_and_a_recalled_one_says_so(
    api: Api, actors: Actors, letter: dict[str, Any]
) -> None:
    old, new = await _replaced(api, actors, letter)
    page = await api.client.get(f"/verify/{old['public_id']}")
    assert page.status_code == 200 and "THAY THẾ" in page.text
    new_url = f"https://vanban.cantho.gov.vn/verify/{new['public_id']}"
    assert re.search(
        rf'id="replaced-by">[^<]*<a href="{re.escape(new_url)}">{re.escape(new["notation"])}</a>', page.text
    )
    digest = (await api.get(old["id"], actors.clerk)).json()
    old_pdf = await _issued_pdf(api, actors, digest)
    lookup = (await api.client.get(f"/verify/by-hash/{hashlib.sha256(old_pdf).hexdigest()}")).json()
    assert lookup["document"]["status"] == "replaced"
    assert lookup["document"]["replaced_by"] == {
        "notation": new["notation"],
        "public_id": new["public_id"],
        "verify_url": new_url,
    }
    assert new["notation"] in lookup["message"]
    assert "replaced-by" not in (await api.client.get(f"/verify/{new['public_id']}")).text

    recalled = await api.advance((await api.get(new["id"], actors.clerk)).json(), "recall", actors.clerk, "Sai sót.")
    assert recalled["status"] == "recalled"
    recalled_page = await api.client.get(f"/verify/{new['public_id']}")
    assert "THU HỒI" in recalled_page.text and 'id="recalled-note"' in recalled_page.text
    assert 'id="download"' not in recalled_page.text
    # A recalled document is still public: its lookup says it was recalled.
    new_pdf = await _issued_pdf(api, actors, recalled)
    recalled_lookup = (await api.client.get(f"/verify/by-hash/{hashlib.sha256(new_pdf).hexdigest()}")).json()
    assert recalled_lookup["document"]["status"] == "recalled" and "THU HỒI" in recalled_lookup["message"]


async def _shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in WIDTHS.items():
        await page.set_viewport_size(size)
        await page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)


@pytest.mark.browser
async def test_the_page_in_chromium_checks_the_hash_then_uploads_only_when_asked(
    api: Api, actors: Actors, letter: dict[str, Any], settings: Settings
) -> None:
    from playwright.async_api import async_playwright

    old, new = await _replaced(api, actors, letter)
    pdf = await _issued_pdf(api, actors, (await api.get(old["id"], actors.clerk)).json())
    new_pdf = await _issued_pdf(api, actors, new)
    settings.public_base_url = "http://127.0.0.1"  # replaced below by the server's own address
    server = ServerThread(create_app(settings))
    settings.public_base_url = server.url
    with server:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport=WIDTHS["phone"], locale="vi-VN")
            sent: list[tuple[str, str, int]] = []
            page.on("request", lambda r: sent.append((r.method, r.url, len(r.post_data_buffer or b""))))
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            response = await page.goto(f"{server.url}/verify")
            assert response is not None and response.status == 200
            await _shoot(page, "verify-file-empty")

            await page.set_input_files(
                "#file", files=[{"name": "van-ban.pdf", "mimeType": "application/pdf", "buffer": new_pdf}]
            )
            await page.wait_for_selector("#notation:not(:empty)")  # the CSP forbids eval: no wait_for_function
            assert "Bản điện tử gốc" in (await page.text_content("#status") or "")
            assert await page.text_content("#notation") == new["notation"]
            assert await page.text_content("#sha256") == hashlib.sha256(new_pdf).hexdigest()
            assert await page.is_hidden("#replaced-by")
            # Only the hash went out: no request carried a body, none was a POST.
            assert [m for m, _, _ in sent] == ["GET", "GET"], sent
            assert sent[1][1].endswith(f"/verify/by-hash/{hashlib.sha256(new_pdf).hexdigest()}") and sent[1][2] == 0
            await _shoot(page, "verify-file-hash")

            await page.click("#full")
            await page.wait_for_selector("#signatures li")
            assert (await page.text_content("#full-status") or "").startswith("Tệp hợp lệ")
            assert "Lê Xuân Hoa" in (await page.text_content("#signatures") or "")
            posts = [s for s in sent if s[0] == "POST"]
            # (Chromium does not show a File body to the test; the server's verdict above shows it arrived.)
            assert len(posts) == 1 and posts[0][1].endswith("/verify/file")
            await _shoot(page, "verify-file-full")

            # The replaced document's file: the page names and links the replacement.
            await page.set_input_files(
                "#file", files=[{"name": "cu.pdf", "mimeType": "application/pdf", "buffer": pdf}]
            )
            await page.wait_for_selector("#replaced-by:not([hidden])")
            assert "THAY THẾ" in (await page.text_content("#status") or "")
            assert await page.text_content("#replacement-link") == new["notation"]
            await _shoot(page, "verify-file-replaced")
            await page.click("#replacement-link")
            await page.wait_for_url(f"{server.url}/verify/{new['public_id']}")
            assert await page.text_content("#notation") == new["notation"]
            back = await page.goto(f"{server.url}/verify/{old['public_id']}")
            assert back is not None and back.status == 200
            assert await page.get_attribute("#replaced-by a", "href") == f"{server.url}/verify/{new['public_id']}"
            await _shoot(page, "verify-replaced-page")

            # A file that is not this office's: not found by its hash, nothing uploaded.
            await page.goto(f"{server.url}/verify")
            before = len([s for s in sent if s[0] == "POST"])
            await page.set_input_files(
                "#file", files=[{"name": "khac.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7\n%%EOF\n"}]
            )
            await page.wait_for_selector("#message:not(:empty)")
            assert "Không phải bản điện tử gốc" in (await page.text_content("#status") or "")
            assert len([s for s in sent if s[0] == "POST"]) == before
            assert not [e for e in errors if "Content Security Policy" in e], errors
            await _shoot(page, "verify-file-unknown")
            await browser.close()
