"""What both services' command lines share: the database option, operator-sized errors, and the
commands every service has (:class:`ServiceCommands`: ``migrate``, ``serve``, ``verify-audit`` and
the ``main`` around them).

An operator who runs a command from the wrong folder, or against a database that is down, gets one
line saying what is wrong and what to do, not a traceback, and no empty SQLite file is left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from alembic.config import Config

    from common.audit import AuditChainMixin, ChainReport
    from common.settings import AuthSettings, DatabaseSettings


def database_options(env_var: str) -> argparse.ArgumentParser:
    """A parent parser with ``--database-url`` (for ``add_parser(..., parents=[...])``)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--database-url",
        metavar="URL",
        help=f"SQLAlchemy URL of the database (default: ${env_var}, else the SQLite file under var/)",
    )
    return parent


def apply_database_url(args: argparse.Namespace, env_var: str) -> None:
    """Make ``--database-url`` the process's database setting (also for uvicorn's app factory)."""
    url = getattr(args, "database_url", None)
    if url:
        os.environ[env_var] = url


def redacted(url: str) -> str:
    """``url`` without its password."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file ``url`` names when it does not exist (None for other databases)."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def make_sqlite_folder(url: str) -> None:
    """Create the folder of the SQLite file ``url`` names (``migrate`` is what creates a database)."""
    path = missing_sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def fail(prog: str, message: str, code: int = 2) -> int:
    """Print ``prog: message`` as one line on stderr; returns ``code``."""
    sys.stderr.write(f"{prog}: {' '.join(message.split())}\n")
    return code


def no_database(prog: str, path: Path, env_var: str) -> int:
    """The one-line error for a command run where its SQLite database is not."""
    return fail(
        prog,
        f"no database at {path.absolute()}: run `{prog} migrate` first, run the command from the folder"
        f" that holds var/ (the repository, for make run), or give --database-url / {env_var}",
    )


def run_reporting_errors(prog: str, url: str, command: Callable[[], int]) -> int:
    """Run ``command``; a database or file error becomes one line (exit 1) instead of a traceback."""
    try:
        return command()
    except OSError as exc:
        return fail(prog, f"{type(exc).__name__}: {exc}", 1)
    except Exception as exc:
        # Imported here: a command that never reached the database did not import SQLAlchemy.
        from sqlalchemy.exc import SQLAlchemyError

        if not isinstance(exc, SQLAlchemyError):
            raise
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else type(exc).__name__
        return fail(prog, f"database {redacted(url)}: {reason}", 1)


class ServiceSettings(Protocol):
    """What :class:`ServiceCommands` reads of a service's settings."""

    @property
    def database(self) -> DatabaseSettings: ...

    @property
    def auth(self) -> AuthSettings: ...


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@dataclass(frozen=True)
class ServiceCommands:
    """The commands every service has, by the service's names: its package ``package`` holds
    ``migrations/`` and ``main:create_app``; ``database_env`` is its database variable."""

    prog: str
    """The command's name, e.g. ``report-api``."""
    package: str
    database_env: str
    port: int
    """``serve``'s default port."""

    def alembic_config(self, url: str) -> Config:
        """An Alembic configuration for ``url`` that works from an installed package too."""
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(resources.files(self.package) / "migrations"))
        config.set_main_option("sqlalchemy.url", url)
        return config

    def migrate(self, url: str) -> None:
        """Upgrade the database at ``url`` to the latest schema (creating an SQLite file's folder)."""
        from alembic import command

        make_sqlite_folder(url)
        command.upgrade(self.alembic_config(url), "head")

    def database_options(self) -> argparse.ArgumentParser:
        """The parent parser of the commands that use the database (``--database-url``)."""
        return database_options(self.database_env)

    def add_serve(
        self, sub: argparse._SubParsersAction[argparse.ArgumentParser], *, summary: str, no_migrate: str
    ) -> None:
        """The ``serve`` command (``summary``: its help): ``--host``, ``--port``, ``--workers`` and
        ``--no-migrate`` (``no_migrate``: its help)."""
        serve = sub.add_parser("serve", parents=[self.database_options()], help=summary)
        serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
        serve.add_argument("--port", type=int, default=self.port, help="port to listen on (default: %(default)s)")
        serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default: %(default)s)")
        serve.add_argument("--no-migrate", action="store_true", help=no_migrate)

    def add_verify_audit(self, sub: argparse._SubParsersAction[argparse.ArgumentParser], *, summary: str) -> None:
        """The ``verify-audit`` command (``summary``: its help)."""
        sub.add_parser("verify-audit", parents=[self.database_options()], help=summary)

    def serve(self, args: argparse.Namespace, settings: ServiceSettings, prepare: Callable[[], None]) -> None:
        """Serve over HTTP: a development key pair where the key file is missing (``make run``), then
        ``prepare`` (migrations, seeding) unless ``--no-migrate``, then uvicorn."""
        import uvicorn

        from common.auth import ensure_dev_keys

        key_file = settings.auth.public_key_file
        if key_file is not None and not key_file.exists():
            ensure_dev_keys(key_file.parent)
        if not args.no_migrate:
            prepare()
        uvicorn.run(
            f"{self.package}.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            proxy_headers=True,
            access_log=False,  # the services' own access log (common.observability) has one line per request
            ws="none",  # no WebSocket routes: the websockets library is not loaded
            log_level=os.environ.get("LOG_LEVEL", "info").lower(),
        )

    def verify_audit(self, url: str, model: type[AuditChainMixin]) -> int:
        """``verify-audit``: recompute ``model``'s hash chain, print what it found; 1 where it breaks."""
        from common.audit import verify_chain
        from common.db import create_engine, create_sessionmaker

        async def verify() -> ChainReport:
            engine = create_engine(url)
            try:
                async with create_sessionmaker(engine)() as session:
                    return await verify_chain(session, model)
            finally:
                await engine.dispose()

        report = asyncio.run(verify())
        print(f"{report.table}: {report.checked} entries checked")
        for problem in report.problems:
            print(f"  ✗ {problem}")
        print("  ✓ the chain is intact" if report.ok else f"  first bad entry: {report.first_bad_seq}")
        return 0 if report.ok else 1

    def main(
        self,
        parser: argparse.ArgumentParser,
        argv: list[str] | None,
        *,
        settings: Callable[[], SettingsT],
        run: Callable[[argparse.Namespace, SettingsT], int],
        guarded: Collection[str],
        production_problems: Callable[[SettingsT], list[str]],
        needs_database: Collection[str],
    ) -> int:
        """Parse ``argv``, read the settings (``--database-url`` first) and ``run`` the command:
        the ``guarded`` ones (long-running: servers, workers) refuse to start on unsafe production
        settings (exit 2), the ``needs_database`` ones say in one line where their SQLite database
        is missing, and database or file errors become one line (exit 1)."""
        args = parser.parse_args(argv)
        apply_database_url(args, self.database_env)
        values = settings()
        if args.command in guarded:
            from common.production import refused_at_start

            if refused_at_start(production_problems(values)):
                return 2
        if args.command in needs_database and (missing := missing_sqlite_file(values.database.url)) is not None:
            return no_database(parser.prog, missing, self.database_env)
        return run_reporting_errors(parser.prog, values.database.url, lambda: run(args, values))
