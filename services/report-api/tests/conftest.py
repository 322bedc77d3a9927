"""Fixtures of report-api's tests: a fresh migrated database per test, on both backends."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from report_testing import Actors, Api, Clock

from common.settings import DatabaseSettings
from common.testing import PostgresServer, TokenFactory, unique_name
from common.webhooks import generate_secret
from report_api.cli import migrate
from report_api.main import create_app
from report_api.settings import Settings


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> Iterator[str]:
    name = unique_name("report_tmpl")
    migrate(postgres_server.create_database(name))
    yield name
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "report.db"
        shutil.copyfile(template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    template_name: str = request.getfixturevalue("postgres_template")
    name = unique_name("report_test")
    url = server.create_database(name, template=template_name)
    yield url
    server.drop_database(name)


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
    # A client address off the machine: loopback-only allowances (metrics scrapes) must not apply.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("192.0.2.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://report-api.test") as http:
        yield http


@pytest.fixture
def actors(token_factory: TokenFactory) -> Actors:
    return Actors(token_factory)


@pytest.fixture
def api(client: httpx.AsyncClient, actors: Actors, webhook_secret: str, clock: Clock, app: FastAPI) -> Api:
    return Api(client, actors, webhook_secret, clock, app)
