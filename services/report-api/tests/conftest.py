"""Fixtures of report-api's tests: a fresh migrated database per test, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from report_testing import Actors, Api, Clock

from common.settings import DatabaseSettings
from common.testing import TokenFactory, asgi_client, template_database_fixtures
from common.webhooks import generate_secret
from report_api.cli import migrate
from report_api.main import create_app
from report_api.settings import Settings

sqlite_template, postgres_template, database_url = template_database_fixtures("report", migrate)


@pytest.fixture(scope="session")
def webhook_secret() -> str:
    return generate_secret()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database_url: str, token_factory: TokenFactory, webhook_secret: str, tmp_path: Path) -> Settings:
    return Settings(
        database=DatabaseSettings(url=database_url, pool_size=20),
        auth=token_factory.auth,
        webhook_secrets=f"{generate_secret()}, {webhook_secret}",
        evidence_dir=tmp_path / "evidence",
        evidence_max_bytes=64 * 1024,
    )


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=clock)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, "http://report-api.test") as http:
        yield http


@pytest.fixture
def actors(token_factory: TokenFactory) -> Actors:
    return Actors(token_factory)


@pytest.fixture
def api(client: httpx.AsyncClient, actors: Actors, webhook_secret: str, clock: Clock, app: FastAPI) -> Api:
    return Api(client, actors, webhook_secret, clock, app)
