"""Alembic environment of directive-api: runs with the synchronous driver of the configured database."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import create_engine, pool

from common.db import advisory_lock, private_sqlite_file, to_sync_url
from directive_api.models import Model, load_all_models
from directive_api.settings import Settings

load_all_models()
target_metadata = Model.metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    return to_sync_url(url or Settings().database.url)


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:  # noqa: ARG001
    # Migrations never import application code: the UTC timestamp type is a plain timestamptz.
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations() -> None:
    url = _url()
    private_sqlite_file(url)
    connectable = create_engine(url, poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=url.startswith("sqlite"),
            render_item=_render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            # Replicas started with migrations on take turns: a later one waits for the first to
            # commit, then finds the schema current (PostgreSQL; SQLite is the single-process mode).
            advisory_lock(connection, "migrations:directive-api")
            context.run_migrations()
    connectable.dispose()


run_migrations()
