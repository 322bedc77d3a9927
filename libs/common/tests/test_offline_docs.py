"""``/docs`` works on an offline network: the page loads Swagger UI from the service itself."""

from __future__ import annotations

import re

import httpx

from common.app import create_service_app
from common.settings import AuthSettings, DatabaseSettings


async def test_swagger_ui_is_served_by_the_service() -> None:
    app = create_service_app(
        title="docs-test",
        version="0",
        description="",
        database=DatabaseSettings(url="sqlite+aiosqlite:///:memory:"),
        auth=AuthSettings(
            issuer="https://id.example.invalid",
            audience="tests",
            jwks_url="https://id.example.invalid/.well-known/jwks.json",
        ),
        routers=[],
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        page = await client.get("/docs")
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources, page.text
        assert all(s.startswith("/docs/assets/") for s in sources), sources  # nothing from another host
        assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
        for source in sources:
            asset = await client.get(source)
            assert asset.status_code == 200, source
            assert len(asset.content) > 500
        script = await client.get("/docs/assets/swagger-ui-bundle.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert b"SwaggerUIBundle" in script.content
        assert (await client.get("/docs/assets/index.html")).status_code == 404  # only the files the page needs
