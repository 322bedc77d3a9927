"""Fixtures of directive-api's tests: a fresh migrated, seeded database per test, on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from directive_testing import Actors, Api, Clock
from fastapi import FastAPI

from common.settings import DatabaseSettings
from common.testing import TokenFactory, asgi_client, template_database_fixtures
from directive_api.cli import migrate, seed
from directive_api.main import create_app
from directive_api.seed.loader import seed_letter
from directive_api.settings import Settings, SigningSettings


def _prepare(url: str) -> None:
    migrate(url)
    asyncio.run(seed(url))


sqlite_template, postgres_template, database_url = template_database_fixtures("directive", _prepare)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One development PKI for the whole session (creating keys takes a while)."""
    return tmp_path_factory.mktemp("pki")


@pytest.fixture
def settings(database_url: str, token_factory: TokenFactory, tmp_path: Path, pki_dir: Path) -> Settings:
    return Settings(
        database=DatabaseSettings(url=database_url, pool_size=20),
        auth=token_factory.auth,
        files_dir=tmp_path / "files",
        signing=SigningSettings(dev_pki_dir=pki_dir),
        public_base_url="https://vanban.cantho.gov.vn",
    )


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=clock)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, "http://directive-api.test") as http:
        yield http


@pytest.fixture
def actors(token_factory: TokenFactory) -> Actors:
    return Actors(token_factory)


@pytest.fixture
def letter() -> dict[str, Any]:
    """The seed letter as a create request."""
    return seed_letter()


@pytest.fixture
def api(client: httpx.AsyncClient, actors: Actors) -> Api:
    return Api(client, actors)


from security_testing import SyncApi  # noqa: E402  (appended: the suites of the security issue)


@pytest.fixture
def sync_api(settings: Settings, clock: Clock) -> Iterator[SyncApi]:
    """The application on a private event loop, for synchronous (hypothesis) tests."""
    driver = SyncApi(create_app(settings, clock=clock))
    yield driver
    driver.close()
