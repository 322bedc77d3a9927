"""Operator commands of report-api: ``report-api migrate|serve|run-timers``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

from common.cli import ServiceCommands
from report_api.settings import Settings, production_problems

# Each command imports what it needs when it runs: a command starts without paying for the others'
# imports (the database layer, HTTP), and none of them imports FastAPI.

COMMANDS = ServiceCommands(prog="report-api", package="report_api", database_env="REPORT_API_DATABASE__URL", port=8002)
alembic_config = COMMANDS.alembic_config
migrate = COMMANDS.migrate


async def run_timers(
    settings: Settings, *, interval: float, once: bool = False, clock: Callable[[], datetime] | None = None
) -> int:
    """Fire due timers and relay events every ``interval`` seconds (until SIGTERM, or once), on
    ``clock`` (the system's UTC clock by default).

    Returns how many timers fired."""
    import signal

    from common.db import create_sessionmaker, engine_for, utc_now
    from common.health import heartbeat_file
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
            clock=clock or utc_now,
            interval=interval,
            once=once,
            heartbeat=heartbeat_file(),
        )
    finally:
        await engine.dispose()


NEEDS_DATABASE = frozenset({"run-timers", "verify-audit"})
"""Commands that read an existing database: from a folder without it they say so in one line."""


def build_parser() -> argparse.ArgumentParser:
    """The ``report-api`` command line."""
    parser = argparse.ArgumentParser(prog="report-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    db = [COMMANDS.database_options()]
    sub.add_parser("migrate", parents=db, help="apply database migrations (the start-up job; safe to rerun)")
    COMMANDS.add_serve(
        sub, summary="migrate and serve over HTTP", no_migrate="skip migrations (replicas: a migration job runs them)"
    )
    timers = sub.add_parser("run-timers", parents=db, help="run due reminder/escalation timers in a loop")
    timers.add_argument("--interval", type=float, default=None, help="seconds between rounds")
    timers.add_argument("--once", action="store_true", help="run one round and exit")
    COMMANDS.add_verify_audit(sub, summary="recompute the obligation history's hash chain; exit 1 where it breaks")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``report-api`` command."""
    return COMMANDS.main(
        build_parser(),
        argv,
        settings=Settings,
        run=_run,
        guarded={"serve", "run-timers"},
        production_problems=production_problems,
        needs_database=NEEDS_DATABASE,
    )


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "verify-audit":
        from report_api.obligations.models import ObligationHistory

        return COMMANDS.verify_audit(settings.database.url, ObligationHistory)
    if args.command == "migrate":
        from sqlalchemy import make_url

        migrate(settings.database.url)
        print("migrated", make_url(settings.database.url).render_as_string(hide_password=True))
    elif args.command == "serve":
        COMMANDS.serve(args, settings, lambda: migrate(settings.database.url))
    elif args.command == "run-timers":
        from common.http_tracing import configure_process_tracing
        from common.observability.logs import configure_logging

        observability = settings.observability
        configure_logging("report-api", observability.log_level, json=observability.json_logs)
        configure_process_tracing("report-api-timers", observability.otlp_endpoint)
        interval = args.interval or settings.timer_interval_seconds
        fired = asyncio.run(run_timers(settings, interval=interval, once=args.once))
        print("fired", fired)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
