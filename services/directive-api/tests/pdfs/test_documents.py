"""PDFs through the API: preview, signing at approval, sealing at issue, verification, public page."""

from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from directive_testing import CHROMIUM_ARGS, Actors, Api, ServerThread
from fastapi import FastAPI

from directive_api.main import create_app
from directive_api.settings import Settings


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout
    return unicodedata.normalize("NFC", out.decode())


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _qr_codes(pdf: bytes, tmp_path: Path) -> set[str]:
    path = tmp_path / "qr.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "200", "-png", str(path), str(tmp_path / "page")], check=True)
    found: set[str] = set()
    for page in sorted(tmp_path.glob("page*.png")):
        result = subprocess.run(["zbarimg", "--quiet", "--raw", str(page)], capture_output=True, text=True)
        found |= {line.strip() for line in result.stdout.splitlines() if line.strip()}
    return found


def _flip_signed_byte(pdf: bytes) -> bytes:
    """The PDF with one byte of its embedded font changed: a byte both signatures cover.

    A font program is never parsed by the verifier, so the file stays readable (a byte of an object
    stream or of the cross-reference would make it unreadable, 422, instead), and it lies in the
    signer's revision, before the first signature's /Contents, so every signature's digest breaks.
    """
    font = re.search(rb"/Length1 \d+[^>]*>>\s*stream\r?\n", pdf)
    assert font is not None
    position = font.end() + 100
    first_range = re.search(rb"/ByteRange\s*\[\s*0\s+(\d+)", pdf)
    assert first_range is not None and position < int(first_range.group(1))
    flipped = bytearray(pdf)
    flipped[position] ^= 0x01
    return bytes(flipped)


async def _issued(api: Api, actors: Actors, letter: dict[str, Any]) -> dict[str, Any]:
    return await api.advance(await api.approved(letter), "issue", actors.clerk)


async def test_issued_seed_letter_pdf(api: Api, actors: Actors, letter: dict[str, Any], tmp_path: Path) -> None:
    doc = await _issued(api, actors, letter)
    response = await api.client.get(f"/v1/directives/{doc['id']}/pdf", headers=actors.monitor)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-document-file-kind"] == "issued"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Cong van 01-VPUB-TTDH.pdf"')
    assert "filename*=UTF-8''C%C3%B4ng%20v%C4%83n%2001-VPUB-TT%C4%90H.pdf" in disposition
    pdf = response.content
    import hashlib

    assert hashlib.sha256(pdf).hexdigest() == response.headers["x-content-sha256"]
    text = _squash(_text(pdf, tmp_path))
    for expected in [
        "UBND THÀNH PHỐ CẦN THƠ",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Số: 01/VPUB-TTĐH",
        "Cần Thơ, ngày 27 tháng 11 năm 2026",
        "Kính gửi:",
        "Ủy ban nhân dân xã, phường.",
        "1. Theo dõi và tương tác với kênh thông tin chính thức",
        "2. Phối hợp tuyên truyền, chia sẻ thông tin",
        "Nơi nhận:",
        "Công TTĐT TP;",
        "Lưu: VT, AN.",
        "KT. CHÁNH VĂN PHÒNG",
        "PHÓ CHÁNH VĂN PHÒNG",
        "Lê Xuân Hoa",
    ]:
        assert expected in text, expected
    assert "DỰ THẢO" not in text
    codes = _qr_codes(pdf, tmp_path)
    assert "https://www.facebook.com/congthongtincantho" in codes
    assert "https://zalo.me/3460461954401350861" in codes
    assert f"https://vanban.cantho.gov.vn/verify/{doc['public_id']}" in codes


async def test_verify_reports_valid_then_altered(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await _issued(api, actors, letter)
    pdf = (await api.client.get(f"/v1/directives/{doc['id']}/pdf", headers=actors.monitor)).content
    headers = {**actors.monitor, "Content-Type": "application/pdf"}
    result = (await api.client.post("/v1/verify", content=pdf, headers=headers)).json()
    assert result["verdict"] == "valid"
    assert result["altered"] is False
    assert [s["signer"] for s in result["signatures"]] == [
        "Lê Xuân Hoa",
        "Văn phòng Ủy ban nhân dân thành phố Cần Thơ",
    ]
    assert all(s["intact"] and s["valid"] and s["trusted"] for s in result["signatures"])
    assert result["signatures"][0]["changes_after"] in (
        "form_filling",
        "FORM_FILLING",
        "ModificationLevel.FORM_FILLING",
    )
    assert result["registered_document"]["notation"] == "01/VPUB-TTĐH"
    assert result["registered_document"]["is_current_e_original"] is True

    altered_response = await api.client.post("/v1/verify", content=_flip_signed_byte(pdf), headers=headers)
    assert altered_response.status_code == 200, altered_response.text
    altered = altered_response.json()
    assert altered["verdict"] == "altered" and altered["altered"] is True
    assert altered["registered_document"] is None
    # Each signature says so unambiguously: its bytes changed, so it is not valid, although its
    # signature value still checks out over the signed attributes.
    assert altered["signatures"] and all(not s["intact"] and not s["valid"] for s in altered["signatures"])
    assert all(s["signature_verifies"] for s in altered["signatures"])


async def test_issue_stores_the_verdict_that_verify_reuses(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import update

    from directive_api.pdfs import jobs, service
    from directive_api.pdfs.models import PdfVerdict

    doc = await _issued(api, actors, letter)
    pdf = (await api.client.get(f"/v1/directives/{doc['id']}/pdf", headers=actors.monitor)).content
    headers = {**actors.monitor, "Content-Type": "application/pdf"}
    calls: list[str] = []
    real_run = jobs.run

    async def spy(function: Any, *args: Any) -> Any:
        calls.append(function.__name__)
        return await real_run(function, *args)

    monkeypatch.setattr(jobs, "run", spy)
    service._CACHE._entries.clear()
    first = (await api.client.post("/v1/verify", content=pdf, headers=headers)).json()
    assert first["verdict"] == "valid" and all(s["trusted"] for s in first["signatures"])
    assert calls == []  # the verdict made at issue, found by SHA-256

    # A verdict made under other trust roots is not reused: verified again, and stored again.
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(update(PdfVerdict).values(trust_fingerprint="0" * 64))
    service._CACHE._entries.clear()
    second = (await api.client.post("/v1/verify", content=pdf, headers=headers)).json()
    assert calls == ["verify_job"] and second == first
    service._CACHE._entries.clear()
    assert (await api.client.post("/v1/verify", content=pdf, headers=headers)).json() == first
    assert calls == ["verify_job"]

    # Other bytes are never answered from the stored verdict.
    altered_response = await api.client.post("/v1/verify", content=_flip_signed_byte(pdf), headers=headers)
    assert altered_response.status_code == 200, altered_response.text
    altered = altered_response.json()
    assert altered["verdict"] == "altered" and calls == ["verify_job", "verify_job"]
    assert altered["signatures"] and not any(s["valid"] for s in altered["signatures"])


async def test_verify_refuses_non_pdf_and_oversized(api: Api, actors: Actors, app: FastAPI) -> None:
    headers = {**actors.monitor, "Content-Type": "application/pdf"}
    not_pdf = await api.client.post("/v1/verify", content=b"<html>", headers=headers)
    assert not_pdf.status_code == 415
    assert not_pdf.headers["content-type"] == "application/problem+json"
    wrong_type = await api.client.post(
        "/v1/verify", content=b"%PDF-1.7", headers={**actors.monitor, "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    app.state.pdf.settings.max_verify_bytes = 1000
    too_big = await api.client.post("/v1/verify", content=b"%PDF-" + b"0" * 2000, headers=headers)
    assert too_big.status_code == 413
    broken = await api.client.post("/v1/verify", content=b"%PDF-1.7\nnot really", headers=headers)
    assert broken.status_code == 422


async def test_draft_preview_is_marked_and_stored_once(
    api: Api, actors: Actors, letter: dict[str, Any], tmp_path: Path
) -> None:
    doc = await api.create(letter)
    first = await api.client.get(f"/v1/directives/{doc['id']}/pdf", headers=actors.drafter)
    assert first.status_code == 200
    assert first.headers["x-document-file-kind"] == "preview"
    assert "DỰ THẢO" in _text(first.content, tmp_path)
    assert "Số:" in _text(first.content, tmp_path)
    second = await api.client.get(f"/v1/directives/{doc['id']}/pdf", headers=actors.drafter)
    assert second.headers["x-content-sha256"] == first.headers["x-content-sha256"]
    ward = await api.client.get(f"/v1/directives/{doc['id']}/pdf", headers=actors.unit_officer("X31299"))
    assert ward.status_code == 403


async def test_public_verification_page(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await _issued(api, actors, letter)
    page = await api.client.get(f"/verify/{doc['public_id']}")
    assert page.status_code == 200
    assert "01/VPUB-TTĐH" in page.text
    assert "Văn bản hợp lệ" in page.text
    download = await api.client.get(f"/verify/{doc['public_id']}/pdf")
    assert download.status_code == 200
    assert download.headers["x-content-sha256"] in page.text
    draft = await api.create(letter)
    assert (await api.client.get(f"/verify/{draft['public_id']}")).status_code == 404
    assert (await api.client.get(f"/verify/{draft['public_id']}/pdf")).status_code == 404
    assert (await api.client.get("/verify/abcdefgh")).status_code == 404


@pytest.mark.browser
async def test_verification_page_in_chromium(
    api: Api, actors: Actors, letter: dict[str, Any], settings: Settings
) -> None:
    from playwright.async_api import async_playwright

    doc = await _issued(api, actors, letter)
    with ServerThread(create_app(settings)) as server:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport={"width": 390, "height": 844}, locale="vi-VN")
            response = await page.goto(f"{server.url}/verify/{doc['public_id']}")
            assert response is not None and response.status == 200
            assert await page.text_content("#notation") == "01/VPUB-TTĐH"
            assert "hợp lệ" in (await page.text_content("#status") or "")
            assert await page.text_content("#issued-on") == "27/11/2026"
            assert "Lê Xuân Hoa" in (await page.text_content("#signer") or "")
            sha = await page.text_content("#sha256")
            assert sha is not None and len(sha) == 64
            href = await page.get_attribute("#download", "href")
            assert href is not None and href.endswith(f"/verify/{doc['public_id']}/pdf")
            # The page's Content-Security-Policy admits its inline style (by hash): it is applied.
            background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == "rgb(244, 241, 234)", background
            recalled = await api.advance(
                (await api.get(doc["id"], actors.clerk)).json(), "recall", actors.clerk, comment="Ban hành sai."
            )
            assert recalled["status"] == "recalled"
            again = await page.goto(f"{server.url}/verify/{doc['public_id']}")
            assert again is not None and again.status == 200
            assert "THU HỒI" in (await page.text_content("#status") or "")
            assert await page.query_selector("#download") is None
            unknown = await page.goto(f"{server.url}/verify/zzzzzzzz")
            assert unknown is not None and unknown.status == 404
            assert await page.text_content("#status") == "Không tìm thấy văn bản"
            await browser.close()


async def test_without_the_development_pki_approval_needs_a_configured_key(
    settings: Settings, actors: Actors, letter: dict[str, Any]
) -> None:
    import httpx

    from directive_api.settings import SigningSettings

    production = settings.model_copy(update={"signing": SigningSettings(use_dev_pki=False)})
    app = create_app(production)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        api = Api(client, actors)
        doc = await api.advance(await api.create(letter), "submit", actors.drafter)
        refused = await api.act(doc, "approve", actors.signer)
        assert refused.status_code == 409
        assert refused.json()["type"].endswith("/signing-key-missing")
        assert (await api.get(doc["id"], actors.signer)).json()["status"] == "submitted"
    await app.state.engine.dispose()


async def test_pdf_workers_setting_sizes_the_pdf_pool_at_start_up(settings: Settings) -> None:
    from pydantic import ValidationError

    from common.pdf.render import configure_default_executor, default_executor

    app = create_app(settings.model_copy(update={"pdf_workers": 1}))
    try:
        async with app.router.lifespan_context(app):
            pool = default_executor()
            assert len(pool._processes) == 1  # started at start-up, one process as configured
    finally:
        configure_default_executor(None)
        await app.state.engine.dispose()
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        Settings(pdf_workers=0)
