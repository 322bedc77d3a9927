"""The Alembic environment every service's ``migrations/env.py`` runs (one call).

A service's ``env.py``::

    load_all_models()
    run_migrations(Model.metadata, service="directive-api", default_url=lambda: Settings().database.url)

Migrations run with the synchronous driver of the configured database (``-x url=…``, else
``sqlalchemy.url``, else the service's settings), in one transaction that holds a lock per service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import MetaData, create_engine, pool

from common.db import advisory_lock, private_sqlite_file, to_sync_url

__all__ = ["run_migrations"]


def _url(default_url: Callable[[], str]) -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    return to_sync_url(url or default_url())


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:  # noqa: ARG001
    # Migrations never import application code: the UTC timestamp type is a plain timestamptz.
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(metadata: MetaData, *, service: str, default_url: Callable[[], str]) -> None:
    """Run the migrations Alembic asked for (upgrade, downgrade, autogenerate) on ``metadata``.

    Args:
        metadata: The service's metadata with every model loaded (autogenerate compares with it).
        service: Names the lock that replicas started together take turns on.
        default_url: The database URL when neither ``-x url=`` nor ``sqlalchemy.url`` gives one.
    """
    url = _url(default_url)
    private_sqlite_file(url)
    connectable = create_engine(url, poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=url.startswith("sqlite"),
            render_item=_render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            # Replicas started with migrations on take turns: a later one waits for the first to
            # commit, then finds the schema current (PostgreSQL; SQLite is the single-process mode).
            advisory_lock(connection, f"migrations:{service}")
            context.run_migrations()
    connectable.dispose()
