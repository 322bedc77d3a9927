"""pytest plugin shared by every test suite: PostgreSQL discovery, throw-away databases, tokens.

PostgreSQL is found in this order: ``TEST_DATABASE_URL``; a testcontainers PostgreSQL where a
Docker engine answers; the local server (``127.0.0.1:5432``, user/password ``postgres``), which
``scripts/ensure-postgres`` starts on Debian. When none answers the tests fail — they never skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import make_url

from common.auth import ensure_dev_keys, mint_token
from common.settings import AuthSettings

LOCAL_POSTGRES = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"


def _docker_postgres() -> tuple[object | None, str | None]:
    try:
        import docker

        docker.from_env().ping()
        from testcontainers.postgres import PostgresContainer
    except Exception:  # no engine, no client: fall back to the local server
        return None, None
    container = PostgresContainer("postgres:15", driver=None)
    container.start()
    return container, container.get_connection_url()


def _libpq(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class PostgresServer:
    """A reachable PostgreSQL server where tests may create and drop databases."""

    admin_url: str

    def url_for(self, database: str, driver: str = "asyncpg") -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        parsed = make_url(self.admin_url).set(drivername=f"postgresql+{driver}", database=database)
        return parsed.render_as_string(hide_password=False)

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create ``name`` (optionally as a copy of ``template``); returns its asyncpg URL."""
        with psycopg.connect(_libpq(self.admin_url), autocommit=True) as connection:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            connection.execute(statement)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting whoever is still connected."""
        with psycopg.connect(_libpq(self.admin_url), autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server of this test run (see the module docstring)."""
    url = os.environ.get("TEST_DATABASE_URL")
    container = None
    if not url:
        container, url = _docker_postgres()
    url = url or LOCAL_POSTGRES
    try:
        with psycopg.connect(_libpq(url), connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required and did not answer at {make_url(url).render_as_string()}: {exc}. "
            "Run scripts/ensure-postgres (Debian) or set TEST_DATABASE_URL.",
            pytrace=False,
        )
    try:
        yield PostgresServer(admin_url=url)
    finally:
        if container is not None:
            with contextlib.suppress(Exception):
                container.stop()  # type: ignore[attr-defined]


def template_database_fixtures(prefix: str, prepare: Callable[[str], None]) -> tuple[Any, Any, Any]:
    """The database fixtures of a service's tests: ``sqlite_template``, ``postgres_template``, ``database_url``.

    ``prepare(url)`` migrates (and seeds) a template database of each backend once per session;
    ``database_url`` (parametrised ``sqlite`` / ``postgresql``) is a fresh copy of it per test: a file
    copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL. In the service's conftest::

        sqlite_template, postgres_template, database_url = template_database_fixtures("report", migrate)
    """

    @pytest.fixture(scope="session", name="sqlite_template")
    def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
        path = tmp_path_factory.mktemp("sqlite") / "template.db"
        prepare(f"sqlite+aiosqlite:///{path}")
        return path

    @pytest.fixture(scope="session", name="postgres_template")
    def postgres_template(postgres_server: PostgresServer) -> Iterator[str]:
        name = unique_name(f"{prefix}_tmpl")
        prepare(postgres_server.create_database(name))
        yield name
        postgres_server.drop_database(name)

    @pytest.fixture(params=["sqlite", "postgresql"], name="database_url")
    def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
        """A fresh, migrated (and seeded) database of each backend."""
        if request.param == "sqlite":
            template: Path = request.getfixturevalue("sqlite_template")
            target = tmp_path / f"{prefix}.db"
            shutil.copyfile(template, target)
            yield f"sqlite+aiosqlite:///{target}"
            return
        server: PostgresServer = request.getfixturevalue("postgres_server")
        template_name: str = request.getfixturevalue("postgres_template")
        name = unique_name(f"{prefix}_test")
        url = server.create_database(name, template=template_name)
        yield url
        server.drop_database(name)

    return sqlite_template, postgres_template, database_url


@contextlib.asynccontextmanager
async def asgi_client(app: Any, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling ``app`` in process, as a client off the machine would.

    The client address is a documentation address, not loopback: loopback-only allowances (metrics
    scrapes) must not apply. Unhandled errors become 500 responses, as a server would send them.
    """
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("192.0.2.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        yield http


_POSTGRES_PARAMS = frozenset({"postgres", "postgresql"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs PostgreSQL ``postgres`` (``make test-fast`` leaves them out): those
    using the ``postgres_server`` fixture, and the PostgreSQL case of a backend-parametrised test."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        uses_server = "postgres_server" in getattr(item, "fixturenames", ())
        if uses_server or any(isinstance(v, str) and v in _POSTGRES_PARAMS for v in params.values()):
            item.add_marker(pytest.mark.postgres)


def schema_drift(url: str, metadata: MetaData) -> list[object]:
    """What Alembic's autogenerate would change to make the database at ``url`` match ``metadata``.

    Empty when a service's migrations build exactly the schema its models describe.
    """
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from common.db import to_sync_url

    engine = create_engine(to_sync_url(url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def unique_name(prefix: str) -> str:
    """A database name that no other test (or parallel run) uses."""
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


TEST_ISSUER = "https://id.example.invalid"
"""The ``iss`` of the tokens :func:`token_factory` mints (and of its ``auth`` settings)."""
TEST_AUDIENCE = "tests"
"""The ``aud`` of the tokens :func:`token_factory` mints."""


@dataclass(frozen=True)
class TokenFactory:
    """Mints tokens the services under test accept."""

    private_key_pem: bytes
    public_key_pem: str
    auth: AuthSettings

    def __call__(self, subject: str, roles: list[str] | tuple[str, ...], unit: str | None, **claims: object) -> str:
        """A token for ``subject`` with ``roles`` acting for ``unit``."""
        ttl = int(str(claims.pop("ttl_seconds", 3600)))
        return mint_token(
            self.private_key_pem,
            subject=subject,
            roles=roles,
            unit=unit,
            name=str(claims.pop("name", subject)),
            issuer=str(claims.pop("iss", self.auth.issuer)),
            audience=str(claims.pop("aud", self.auth.audience)),
            ttl_seconds=ttl,
            extra=dict(claims) or None,
        )

    def headers(self, subject: str, roles: list[str] | tuple[str, ...], unit: str | None) -> dict[str, str]:
        """``Authorization`` header for a token."""
        return {"Authorization": f"Bearer {self(subject, roles, unit)}"}


@pytest.fixture(scope="session")
def token_factory(tmp_path_factory: pytest.TempPathFactory) -> TokenFactory:
    """Development keys for the session and a way to mint tokens with them."""
    keys = ensure_dev_keys(Path(tmp_path_factory.mktemp("keys")))
    public_pem = keys.public_key_file.read_text()
    from pydantic import SecretStr

    auth = AuthSettings(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, public_key_pem=SecretStr(public_pem))
    return TokenFactory(keys.private_key_file.read_bytes(), public_pem, auth)


def scaled(examples: int) -> int:
    """``examples`` times ``FUZZ_SCALE`` (default 1): CI runs a short budget, ``FUZZ_SCALE=20`` a long one."""
    return examples * max(1, int(os.environ.get("FUZZ_SCALE", "1")))


def state_machine_settings(**overrides: Any) -> Any:
    """hypothesis settings of the services' workflow state machines: 15 runs (times ``FUZZ_SCALE``)
    of 25 steps, reproducible, no deadline and no shrinking (with PDF signing in the steps it would
    take minutes; a failing run's steps are printed as they are)."""
    from hypothesis import HealthCheck, Phase, settings

    values: dict[str, Any] = {
        "max_examples": scaled(15),
        "stateful_step_count": 25,
        "deadline": None,
        "database": None,
        "derandomize": True,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
        "phases": [Phase.explicit, Phase.generate],
        **overrides,
    }
    return settings(**values)


def nss_trust_db(root_pem: Path, directory: Path) -> str:
    """A new NSS database in ``directory`` (created) trusting ``root_pem``, for ``pdfsig -nssdir``:
    the independent check that a PDF's signatures chain to that root."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{directory}", "--empty-password"], check=True)
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{directory}", "-n", "dev-root", "-t", "CT,C,C", "-i", str(root_pem)],
        check=True,
    )
    return f"sql:{directory}"
