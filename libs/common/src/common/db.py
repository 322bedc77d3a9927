"""Database plumbing: declarative base, portable column types, engines and the request transaction.

PostgreSQL (asyncpg) is the production database; an SQLite file (aiosqlite) is the embedded
default. Both run the same Alembic migrations and the same code.
"""

from __future__ import annotations

import contextlib
import os
import uuid
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, MetaData, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from common.settings import DatabaseSettings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A MetaData with the shared constraint naming convention (one per service)."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
"""JSON everywhere, JSONB on PostgreSQL."""


def is_sqlite(url: str) -> bool:
    """Whether the SQLAlchemy URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def _configure_sqlite(engine: AsyncEngine) -> None:
    # SQLite allows one writer. A transaction that starts reading and later writes fails with
    # SQLITE_BUSY instead of waiting, so every transaction takes the write lock up front
    # (BEGIN IMMEDIATE) and waits for it (busy_timeout). The pysqlite driver's own transaction
    # handling is switched off so that these statements are the only ones issued.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def private_sqlite_file(url: str) -> None:
    """Create an SQLite database file readable by its owner only (0600), or tighten an existing one.

    The database holds webhook secrets and personal data: SQLite's journal and WAL files take the
    database file's mode, so they are private too. Nothing happens for other databases.
    """
    if not is_sqlite(url):
        return
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for candidate in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        with contextlib.suppress(FileNotFoundError):
            if candidate.stat().st_mode & 0o077:
                candidate.chmod(0o600)


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 0,
    pool_timeout: float = 30,
    echo: bool = False,
    null_pool: bool = False,
    pre_ping: bool = True,
    transaction_pooling: bool = False,
) -> AsyncEngine:
    """An async engine for ``url`` with the settings each backend needs.

    For an SQLite file, the parent folder is created if missing and the file is private (0600).
    ``pre_ping`` tests a pooled PostgreSQL connection at each checkout (``DatabaseSettings.pool_pre_ping``).
    A process opens at most ``pool_size + max_overflow`` PostgreSQL connections. ``transaction_pooling``:
    the URL is a transaction-mode pooler (PgBouncer, CloudNativePG's Pooler), where consecutive
    transactions may run on different server connections: no statement is kept prepared across
    transactions, and each prepared statement gets a unique name.
    """
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite(url):
        private_sqlite_file(url)
        kwargs["connect_args"] = {"timeout": 60}
        if null_pool:
            kwargs["poolclass"] = NullPool
        engine = create_async_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    if null_pool:
        kwargs["poolclass"] = NullPool
    else:
        kwargs.update(
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            pool_pre_ping=pre_ping,
            pool_recycle=1800,
            pool_use_lifo=True,
        )
    if transaction_pooling:
        kwargs["connect_args"] = {
            "statement_cache_size": 0,  # asyncpg's own cache
            "prepared_statement_cache_size": 0,  # SQLAlchemy's
            "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4().hex}__",
        }
    return create_async_engine(url, **kwargs)


def engine_for(
    settings: DatabaseSettings, *, pool_size: int | None = None, pre_ping: bool | None = None
) -> AsyncEngine:
    """:func:`create_engine` with a service's database settings (``pool_size`` for a worker's own)."""
    return create_engine(
        settings.url,
        pool_size=pool_size or settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout,
        echo=settings.echo,
        pre_ping=settings.pool_pre_ping if pre_ping is None else pre_ping,
        transaction_pooling=settings.transaction_pooling,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (responses are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


@contextlib.asynccontextmanager
async def transaction(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits when the block ends normally, rolls back on any exception."""
    async with maker() as session, session.begin():
        yield session


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def advisory_lock(connection: Connection, name: str) -> None:
    """Serialise the transactions that take the lock ``name``, until this one ends.

    A transaction-scoped advisory lock on PostgreSQL. Elsewhere nothing: on SQLite a writing
    transaction already holds the database's write lock (``BEGIN IMMEDIATE``).
    """
    if connection.dialect.name == "postgresql":
        connection.execute(_ADVISORY_LOCK, {"key": zlib.crc32(name.encode())})


async def advisory_lock_async(session: AsyncSession, name: str) -> None:
    """:func:`advisory_lock` in an async session's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_ADVISORY_LOCK, {"key": zlib.crc32(name.encode())})


def to_sync_url(url: str) -> str:
    """The synchronous driver's URL for the same database (used by Alembic and tools)."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}[parsed.get_backend_name()]
    return parsed.set(drivername=driver).render_as_string(hide_password=False)
