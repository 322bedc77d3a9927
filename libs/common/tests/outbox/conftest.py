"""Fixtures of the outbox tests: one database per test (SQLite file and PostgreSQL), a receiver."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent))

from outbox_models import Base
from outbox_testkit import Receiver, ReceiverState

from common.db import create_engine, create_sessionmaker
from common.outbox import register_session_listeners
from common.testing import PostgresServer, unique_name


@dataclass
class Database:
    url: str
    engine: AsyncEngine
    maker: async_sessionmaker[AsyncSession]

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"


async def _open(url: str) -> Database:
    register_session_listeners()  # what the services' create_app does at start-up
    engine = create_engine(url, null_pool=True)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    return Database(url, engine, create_sessionmaker(engine))


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = await _open(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    yield db
    await db.engine.dispose()


@pytest.fixture
async def pg_db(postgres_server: PostgresServer) -> AsyncIterator[Database]:
    name = unique_name("outbox")
    url = postgres_server.create_database(name)
    db = await _open(url)
    yield db
    await db.engine.dispose()
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = await _open(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
        yield database
        await database.engine.dispose()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = unique_name("outbox")
    database = await _open(server.create_database(name))
    yield database
    await database.engine.dispose()
    server.drop_database(name)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(ReceiverState()) as server:
        yield server
