"""The FastAPI application skeleton both services share: problems, auth, database, health."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import functools
import gc
import logging
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from common.auth import TokenVerifier
from common.db import create_sessionmaker, engine_for, is_sqlite
from common.docs import install_offline_docs
from common.http import BodySizeLimitMiddleware, RequestIdMiddleware
from common.problems import (
    install_problem_handlers,
    internal_error_response,
    problem_response,
    problem_type,
    use_problem_type_base,
)
from common.settings import AuthSettings, DatabaseSettings

logger = logging.getLogger(__name__)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed before the response is sent, rolled back on error."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session, session.begin():
        yield session


# scope="function": the commit happens before the response leaves, so a failed commit becomes a
# problem response instead of a 2xx the client already trusted.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_read_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A pooled connection for a read-only request: Core queries, no ORM session.

    For hot single-row reads: the ORM session's unit of work, identity map and explicit transaction
    cost about as much CPU as the query itself and buy nothing when nothing is written. On
    PostgreSQL the connection is in autocommit: each statement is one round trip, without the
    ``BEGIN`` and ``ROLLBACK`` around it (each statement sees its own snapshot, so a handler that
    needs several statements to agree must not use this connection).
    """
    engine: AsyncEngine = request.app.state.read_engine
    async with engine.connect() as connection:
        yield connection


ReadConnectionDep = Annotated[AsyncConnection, Depends(get_read_connection, scope="function")]


def migration_heads(script_location: str) -> set[str]:
    """The head revision(s) of an Alembic script folder (read once, at start-up).

    Read from the revision files' ``revision`` and ``down_revision`` assignments (parsed, not run):
    a web process does not import Alembic (with Mako and Pygments, ~11 MB resident) nor every
    migration module just to answer ``/readyz``. A head is a revision no other revision revises.
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in sorted((Path(script_location) / "versions").glob("*.py")):
        stat = path.stat()
        values = _revision_file(str(path), stat.st_mtime_ns, stat.st_size)
        if "revision" not in values:
            continue  # not a revision file (__init__.py)
        revisions.add(str(values["revision"]))
        down = values.get("down_revision")
        if isinstance(down, str):
            revised.add(down)
        elif isinstance(down, tuple | list):
            revised.update(str(d) for d in down)
    return revisions - revised


@functools.lru_cache(maxsize=512)
def _revision_file(path: str, mtime_ns: int, size: int) -> dict[str, Any]:  # noqa: ARG001 (the cache key)
    """:func:`_revision_assignments` of one revision file, parsed once per version of the file: every
    application built in a process (one per test) reads the same files, and parsing them was most of
    what building an application cost."""
    return _revision_assignments(ast.parse(Path(path).read_bytes(), filename=path))


def _revision_assignments(module: ast.Module) -> dict[str, Any]:
    """The literal values of ``revision`` and ``down_revision`` assigned at a module's top level."""
    values: dict[str, Any] = {}
    for node in module.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and value is not None:
            values[target.id] = ast.literal_eval(value)
    return values


def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:  # noqa: ARG001
    body = {
        "type": problem_type("database-unavailable"),
        "title": "Service unavailable",
        "status": 503,
        "detail": "the database is not reachable; retry shortly",
        "instance": request.url.path,
    }
    return problem_response(body, {"Retry-After": "5"})


def _database_busy(request: Request, exc: Exception) -> JSONResponse:  # noqa: ARG001
    # The pool had no free connection within its timeout: the process is overloaded, not broken.
    # A 503 with Retry-After lets clients and load balancers back off instead of seeing a 500.
    logger.warning("no free database connection for %s %s", request.method, request.url.path)
    body = {
        "type": problem_type("database-busy"),
        "title": "Service unavailable",
        "status": 503,
        "detail": "every database connection of this process is in use; retry shortly",
        "instance": request.url.path,
    }
    return problem_response(body, {"Retry-After": "2"})


_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
"""connection_exception (class 08), admin/crash shutdown, "the database system is starting up" /
"shutting down" (cannot_connect_now), too_many_connections."""
_UNAVAILABLE_CLASSES = {
    "AdminShutdownError",
    "CannotConnectNowError",
    "ConnectionDoesNotExistError",
    "ConnectionFailureError",
    "CrashShutdownError",
    "InternalClientError",  # asyncpg: "cannot switch to state …" on a connection broken mid-operation
    "TooManyConnectionsError",
}
_UNAVAILABLE_TEXT = (
    "connection refused",
    "connection is closed",
    "connection was closed",
    "could not connect",
    "terminating connection",
    "the database system is",
    "database is locked",
)


def _is_connection_error(exc: BaseException) -> bool:
    """True if ``exc`` means the database cannot be reached now (503), not that the request is wrong.

    Looks at the SQLAlchemy error, the driver's error (``orig``) and what caused it: asyncpg raises
    e.g. ``CannotConnectNowError`` while PostgreSQL starts, ``AdminShutdownError`` or
    ``ConnectionDoesNotExistError`` when it stops, and SQLAlchemy wraps them in a plain ``DBAPIError``.
    """
    if isinstance(exc, InterfaceError | OSError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, IntegrityError | DataError | ProgrammingError):
        return False  # their messages quote the client's data
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 6:
        seen.append(current)
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str) and state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        if type(current).__name__ in _UNAVAILABLE_CLASSES or isinstance(current, ConnectionError | OSError):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    text_ = str(exc).lower()
    return any(s in text_ for s in _UNAVAILABLE_TEXT)


def create_service_app(
    *,
    title: str,
    version: str,
    description: str,
    database: DatabaseSettings,
    auth: AuthSettings,
    routers: Sequence[APIRouter],
    on_startup: Callable[[FastAPI], Any] | None = None,
    on_shutdown: Callable[[FastAPI], Any] | None = None,
    background: Callable[[FastAPI, asyncio.Event], Coroutine[Any, Any, None]] | None = None,
    openapi_tags: list[dict[str, Any]] | None = None,
    max_body_bytes: int = 2_000_000,
    body_limit_exempt: tuple[str | re.Pattern[str], ...] = (),
    migrations: str | None = None,
    problem_type_base: str | None = None,
) -> FastAPI:
    """Assemble a service: lifespan (engine), problem handlers, request ids, health and readiness.

    ``problem_type_base`` starts the ``type`` URI of every problem the process answers (the
    deployment's, e.g. ``https://problems.example.org/``; see :func:`common.problems.use_problem_type_base`).

    ``background`` (optional) runs for the life of the process, e.g. the event relay in the
    embedded single-machine mode; it gets an event that is set at shutdown and must return then.
    """
    if problem_type_base is not None:
        use_problem_type_base(problem_type_base)
    engine: AsyncEngine = engine_for(database)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if on_startup is not None:
            result = on_startup(app)
            if hasattr(result, "__await__"):
                await result
        stop = asyncio.Event()
        task = asyncio.create_task(background(app, stop)) if background is not None else None
        # Everything loaded so far (modules, routes, schemas, the seeded directory) lives as long as
        # the process: out of the collector's sight, full collections stop walking it between requests.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            stop.set()
            if task is not None:
                try:
                    await asyncio.wait_for(task, timeout=30)
                except Exception:
                    logger.exception("background task ended with an error")
            if on_shutdown is not None:
                await asyncio.to_thread(on_shutdown, app)
            await engine.dispose()

    app = FastAPI(title=title, version=version, description=description, lifespan=lifespan, openapi_tags=openapi_tags)
    install_offline_docs(app)
    app.state.engine = engine
    # The same pool; on PostgreSQL its connections skip BEGIN/ROLLBACK (asyncpg: a client-side flag, no
    # round trip). SQLite keeps its explicit BEGIN IMMEDIATE (see common.db), which this would not skip.
    # Behind a transaction-mode pooler a statement is prepared and executed in two exchanges, which
    # only a transaction keeps on one server connection: reads stay in transactions there.
    app.state.read_engine = (
        engine
        if is_sqlite(database.url) or database.transaction_pooling
        else engine.execution_options(isolation_level="AUTOCOMMIT")
    )
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.token_verifier = TokenVerifier(auth)
    install_problem_handlers(app)

    async def on_operational(request: Request, exc: Exception) -> JSONResponse:
        if _is_connection_error(exc):
            return _database_unavailable(request, exc)
        logger.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return internal_error_response(request.url.path)

    app.add_exception_handler(DBAPIError, on_operational)
    app.add_exception_handler(OSError, _database_unavailable)
    app.add_exception_handler(PoolTimeoutError, _database_busy)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body_bytes, exempt=body_limit_exempt)
    app.add_middleware(RequestIdMiddleware)

    health = APIRouter(tags=["health"])

    @health.get("/healthz", summary="Liveness: the process is up")
    async def liveness() -> dict[str, str]:
        return {"status": "ok"}

    head = migration_heads(migrations) if migrations else None

    @health.get("/readyz", summary="Readiness: the database answers and its schema is at the latest migration")
    async def readiness(request: Request) -> JSONResponse:
        try:
            async with request.app.state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                current = (
                    set((await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars())
                    if head is not None
                    else None
                )
        except Exception as exc:
            return _database_unavailable(request, exc)
        if head is not None and current != head:
            body = {
                "type": problem_type("migrations-pending"),
                "title": "Service unavailable",
                "status": 503,
                "detail": f"the database schema is at {sorted(current or [])}, the code expects {sorted(head)}",
                "instance": request.url.path,
            }
            return problem_response(body, {"Retry-After": "10"})
        return JSONResponse({"status": "ready"})

    app.include_router(health)
    for router in routers:
        app.include_router(router)
    return app
