"""Operator commands of report-api: ``report-api migrate|serve|run-timers``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import make_url

from common.audit import ChainReport, verify_chain
from common.auth import ensure_dev_keys
from common.cli import (
    apply_database_url,
    database_options,
    make_sqlite_folder,
    missing_sqlite_file,
    no_database,
    run_reporting_errors,
)
from common.db import create_engine, create_sessionmaker, engine_for, utc_now
from common.health import heartbeat_file
from common.http_tracing import configure_process_tracing
from common.observability import configure_logging
from report_api.settings import Settings

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` that works from an installed package too."""
    from alembic.config import Config  # not in `serve`: a web process never runs a migration itself

    config = Config()
    config.set_main_option("script_location", str(resources.files("report_api") / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    return config


def migrate(url: str) -> None:
    """Upgrade the database at ``url`` to the latest schema (creating an SQLite file's folder)."""
    from alembic import command

    make_sqlite_folder(url)
    command.upgrade(alembic_config(url), "head")


async def run_timers(
    settings: Settings, *, interval: float, once: bool = False, clock: Callable[[], datetime] = utc_now
) -> int:
    """Fire due timers and relay events every ``interval`` seconds (until SIGTERM, or once).

    Returns how many timers fired."""
    import signal

    from report_api import workers

    engine = engine_for(settings.database, pool_size=2, pre_ping=True)  # workers always ping
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        return await workers.run(
            create_sessionmaker(engine),
            settings,
            stop,
            clock=clock,
            interval=interval,
            once=once,
            heartbeat=heartbeat_file(),
        )
    finally:
        await engine.dispose()


async def verify_audit(url: str) -> ChainReport:
    """Recompute the obligation history's hash chain."""
    from report_api.obligations.models import ObligationHistory

    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return await verify_chain(session, ObligationHistory)
    finally:
        await engine.dispose()


DATABASE_ENV = "REPORT_API_DATABASE__URL"
NEEDS_DATABASE = frozenset({"run-timers", "verify-audit"})
"""Commands that read an existing database: from a folder without it they say so in one line."""


def build_parser() -> argparse.ArgumentParser:
    """The ``report-api`` command line."""
    parser = argparse.ArgumentParser(prog="report-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    db = [database_options(DATABASE_ENV)]
    sub.add_parser("migrate", parents=db, help="apply database migrations (the start-up job; safe to rerun)")
    serve = sub.add_parser("serve", parents=db, help="migrate and serve over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8002, help="port to listen on (default: %(default)s)")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default: %(default)s)")
    serve.add_argument(
        "--no-migrate", action="store_true", help="skip migrations (replicas: a migration job runs them)"
    )
    timers = sub.add_parser("run-timers", parents=db, help="run due reminder/escalation timers in a loop")
    timers.add_argument("--interval", type=float, default=None, help="seconds between rounds")
    timers.add_argument("--once", action="store_true", help="run one round and exit")
    sub.add_parser(
        "verify-audit", parents=db, help="recompute the obligation history's hash chain; exit 1 where it breaks"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``report-api`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    apply_database_url(args, DATABASE_ENV)
    settings = Settings()
    if args.command in ("serve", "run-timers"):
        from common.production import refused_at_start
        from report_api.settings import production_problems

        if refused_at_start(production_problems(settings)):
            return 2
    if args.command in NEEDS_DATABASE and (missing := missing_sqlite_file(settings.database.url)) is not None:
        return no_database(parser.prog, missing, DATABASE_ENV)
    return run_reporting_errors(parser.prog, settings.database.url, lambda: _run(args, settings))


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "verify-audit":
        report = asyncio.run(verify_audit(settings.database.url))
        print(f"{report.table}: {report.checked} entries checked")
        for problem in report.problems:
            print(f"  ✗ {problem}")
        print("  ✓ the chain is intact" if report.ok else f"  first bad entry: {report.first_bad_seq}")
        return 0 if report.ok else 1
    if args.command == "migrate":
        migrate(settings.database.url)
        print("migrated", make_url(settings.database.url).render_as_string(hide_password=True))
    elif args.command == "serve":
        import uvicorn

        if settings.auth.public_key_file is not None and not settings.auth.public_key_file.exists():
            ensure_dev_keys(settings.auth.public_key_file.parent)
        if not args.no_migrate:
            migrate(settings.database.url)
        uvicorn.run(
            "report_api.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            proxy_headers=True,
            access_log=False,  # the services' own access log (common.observability) has one line per request
            ws="none",  # no WebSocket routes: the websockets library is not loaded
            log_level=os.environ.get("LOG_LEVEL", "info").lower(),
        )
    elif args.command == "run-timers":
        observability = settings.observability
        configure_logging("report-api", observability.log_level, json=observability.json_logs)
        configure_process_tracing("report-api-timers", observability.otlp_endpoint)
        interval = args.interval or settings.timer_interval_seconds
        fired = asyncio.run(run_timers(settings, interval=interval, once=args.once))
        print("fired", fired)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
