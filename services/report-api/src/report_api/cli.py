"""Operator commands of report-api: ``report-api migrate|serve``."""

from __future__ import annotations

import argparse
import os
from importlib import resources

from alembic import command
from alembic.config import Config

from common.auth import ensure_dev_keys
from report_api.settings import Settings


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` that works from an installed package too."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("report_api") / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    return config


def migrate(url: str) -> None:
    """Upgrade the database at ``url`` to the latest schema."""
    command.upgrade(alembic_config(url), "head")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``report-api`` command."""
    parser = argparse.ArgumentParser(prog="report-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations")
    serve = sub.add_parser("serve", help="migrate and serve over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8002)
    serve.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "migrate":
        migrate(settings.database.url)
        print("migrated", settings.database.url)
    elif args.command == "serve":
        import uvicorn

        if settings.auth.public_key_file is not None and not settings.auth.public_key_file.exists():
            ensure_dev_keys(settings.auth.public_key_file.parent)
        migrate(settings.database.url)
        uvicorn.run(
            "report_api.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            proxy_headers=True,
            log_level=os.environ.get("LOG_LEVEL", "info").lower(),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
