"""report-api serves health, readiness and its OpenAPI description, with auth configured."""

from __future__ import annotations

from pathlib import Path

import httpx

from common.settings import DatabaseSettings
from common.testing import TokenFactory
from report_api.cli import migrate
from report_api.main import create_app
from report_api.settings import Settings


async def test_health_readiness_and_openapi(tmp_path: Path, token_factory: TokenFactory) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'report.db'}"
    migrate(url)
    app = create_app(Settings(database=DatabaseSettings(url=url), auth=token_factory.auth))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://report-api.test") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).json() == {"status": "ready"}
        spec = (await client.get("/openapi.json")).json()
        assert spec["info"]["title"] == "report-api"
        assert (await client.get("/docs")).status_code == 200
        missing = await client.get("/v1/nothing-here")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["type"] == "https://problems.cantho.local/not-found"  # the service's base
    await app.state.engine.dispose()
