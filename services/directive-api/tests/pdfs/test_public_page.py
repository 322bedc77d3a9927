"""The public verification page: a strict CSP, links from PUBLIC_BASE_URL, Vietnamese for every
answer (also a malformed code), and a per-client rate limit (429 with Retry-After)."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import httpx
import pytest
from directive_testing import Actors, Api
from fastapi import FastAPI


async def _issued(api: Api, actors: Actors, letter: dict[str, Any]) -> dict[str, Any]:
    return await api.advance(await api.approved(letter), "issue", actors.clerk)


def _csp(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2] for d in policy.split(";") if d.strip()}


async def test_the_page_has_a_csp_that_allows_its_own_style_only(
    api: Api, actors: Actors, letter: dict[str, Any]
) -> None:
    doc = await _issued(api, actors, letter)
    for url, status in ((f"/verify/{doc['public_id']}", 200), ("/verify/zzzzzzzz", 404)):
        page = await api.client.get(url)
        assert page.status_code == status
        csp = _csp(page)
        assert csp["default-src"] == "'none'" and csp["frame-ancestors"] == "'none'" and "script-src" not in csp
        [style] = re.findall(r"<style>(.*?)</style>", page.text, re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert csp["style-src"] == f"'sha256-{digest}'"
        assert page.headers["x-content-type-options"] == "nosniff"


async def test_links_come_from_the_configured_base_url_not_the_host_header(
    api: Api, actors: Actors, letter: dict[str, Any]
) -> None:
    doc = await _issued(api, actors, letter)
    page = await api.client.get(f"/verify/{doc['public_id']}", headers={"Host": "evil.example"})
    assert page.status_code == 200
    assert "evil.example" not in page.text
    assert f'href="https://vanban.cantho.gov.vn/verify/{doc["public_id"]}/pdf"' in page.text


@pytest.mark.parametrize("code", ["AB", "ABCDEFGH", "abc!defg", "a" * 40, "%E1%BA%A1bcdefgh", "x" * 300])
async def test_a_malformed_code_is_answered_in_vietnamese(api: Api, code: str) -> None:
    page = await api.client.get(f"/verify/{code}")
    assert page.status_code == 404, page.text[:300]
    assert page.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy văn bản" in page.text and 'lang="vi"' in page.text


async def test_each_client_is_rate_limited_with_retry_after(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    doc = await _issued(api, actors, letter)
    app.state.settings.public_requests_per_minute = 5
    url = f"/verify/{doc['public_id']}"
    answers = [(await api.client.get(url if i % 2 else f"{url}/pdf")).status_code for i in range(5)]
    assert answers == [200] * 5
    limited = await api.client.get(url)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "Quá nhiều yêu cầu" in limited.text and "content-security-policy" in limited.headers
    pdf = await api.client.get(f"{url}/pdf")
    assert pdf.status_code == 429 and int(pdf.headers["retry-after"]) >= 1
    assert pdf.headers["content-type"] == "application/problem+json"
    # another client is not held back by this one
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://directive-api.test") as other:
        assert (await other.get(url)).status_code == 200
