"""Database errors seen while PostgreSQL restarts become 503 + Retry-After, not 500.

The exceptions are built the way SQLAlchemy's asyncpg dialect hands them over: a ``DBAPIError``
(often not an ``OperationalError``) whose ``orig`` is the adapter's error, caused by asyncpg's own
exception. The cases come from tests/test_postgres_restart.py, where each of them escaped as a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg.exceptions as pg  # type: ignore[import-untyped]
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, InternalError, OperationalError

from common.app import SessionDep, _is_connection_error, create_service_app
from common.settings import DatabaseSettings
from common.testing import PostgresServer, TokenFactory, unique_name


class AdaptedError(Exception):
    """Like ``AsyncAdapt_asyncpg_dbapi.Error``: carries the SQLSTATE of the asyncpg error it wraps."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.sqlstate = getattr(cause, "sqlstate", None)
        self.__cause__ = cause


def wrapped(cls: type[DBAPIError], cause: Exception, statement: str = "SELECT 1") -> DBAPIError:
    error = cls(statement, None, AdaptedError(cause))
    error.__cause__ = error.orig
    return error


UNAVAILABLE: dict[str, BaseException] = {
    "starting up": wrapped(DBAPIError, pg.CannotConnectNowError("the database system is starting up")),
    "shutting down": wrapped(DBAPIError, pg.CannotConnectNowError("the database system is shutting down")),
    "admin shutdown": wrapped(DBAPIError, pg.AdminShutdownError("terminating connection due to administrator command")),
    "closed mid-operation": wrapped(
        DBAPIError,
        pg.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation: terminating connection due to administrator command"
        ),
    ),
    "broken protocol state": wrapped(
        InternalError,
        pg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        "SELECT pg_advisory_xact_lock($1)",
    ),
    "refused": wrapped(OperationalError, ConnectionRefusedError(111, "Connect call failed")),
    "interface": InterfaceError("SELECT 1", None, Exception("connection is closed")),
    "sqlite locked": OperationalError("INSERT", None, Exception("database is locked")),
    "oserror": ConnectionResetError(104, "Connection reset by peer"),
}
NOT_UNAVAILABLE: dict[str, BaseException] = {
    "unique violation": wrapped(
        IntegrityError,
        pg.UniqueViolationError(
            "duplicate key value violates unique constraint; Key (subject)=(terminating connection)"
        ),
    ),
    "syntax": wrapped(DBAPIError, pg.PostgresSyntaxError('syntax error at or near "SELEC"')),
}


@pytest.mark.parametrize("name", sorted(UNAVAILABLE))
def test_connection_errors_are_recognised(name: str) -> None:
    assert _is_connection_error(UNAVAILABLE[name])


@pytest.mark.parametrize("name", sorted(NOT_UNAVAILABLE))
def test_other_database_errors_are_not(name: str) -> None:
    assert not _is_connection_error(NOT_UNAVAILABLE[name])


@pytest.fixture
async def app(tmp_path: Path, token_factory: TokenFactory) -> AsyncIterator[FastAPI]:
    router = APIRouter()

    @router.get("/raise/{kind}/{name}")
    async def raise_it(kind: str, name: str) -> None:
        raise (UNAVAILABLE if kind == "unavailable" else NOT_UNAVAILABLE)[name]

    application = create_service_app(
        title="t",
        version="1",
        description="database errors",
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"),
        auth=token_factory.auth,
        routers=[router],
    )
    yield application
    await application.state.engine.dispose()


async def test_the_app_answers_503_problem_with_retry_after(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for name in UNAVAILABLE:
            response = await client.get(f"/raise/unavailable/{name}")
            assert response.status_code == 503, (name, response.text)
            assert response.headers["retry-after"] == "5"
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["type"].endswith("database-unavailable")
        for name in NOT_UNAVAILABLE:
            response = await client.get(f"/raise/other/{name}")
            assert response.status_code == 500, (name, response.text)
            assert "retry-after" not in response.headers
            assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_exhausted_pool_answers_503_busy_not_500(
    postgres_server: PostgresServer, token_factory: TokenFactory
) -> None:
    """Found under load: 50 concurrent issues on a pool of 20 timed out waiting and answered 500."""
    router = APIRouter()
    release = asyncio.Event()

    @router.get("/hold")
    async def hold(session: SessionDep) -> None:
        await session.execute(text("SELECT 1"))
        await release.wait()

    @router.get("/read")
    async def read(session: SessionDep) -> int:
        return int((await session.execute(text("SELECT 7"))).scalar_one())

    name = unique_name("pool_busy")
    url = postgres_server.create_database(name)
    application = create_service_app(
        title="t",
        version="1",
        description="pool",
        database=DatabaseSettings(url=url, pool_size=1, pool_timeout=0.2),
        auth=token_factory.auth,
        routers=[router],
    )
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            holder = asyncio.create_task(client.get("/hold"))
            await asyncio.sleep(0.1)
            response = await client.get("/read")
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "2"
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["type"].endswith("database-busy")
            release.set()
            assert (await holder).status_code == 200
            assert (await client.get("/read")).json() == 7
    finally:
        await application.state.engine.dispose()
        postgres_server.drop_database(name)
