"""Replicas that start with migrations on, at the same moment, on a fresh PostgreSQL database.

``serve`` without ``--no-migrate`` upgrades the schema (and directive-api seeds its directory) before
it listens. Each service's upgrades take turns on an advisory lock (``common.db.advisory_lock`` in ``env.py``),
and so do the seedings: every process ends well, the schema is at head once and the directory is
loaded once. Without the lock, two of three upgrades failed half-way with duplicate types in 4 of 5
tries.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from multiprocessing.synchronize import Barrier

import psycopg
import pytest
from alembic.script import ScriptDirectory

from common.testing import PostgresServer, unique_name
from directive_api.cli import alembic_config as directive_config
from directive_api.cli import migrate as migrate_directive
from directive_api.cli import seed as seed_directive
from report_api.cli import alembic_config as report_config
from report_api.cli import migrate as migrate_report

PROCESSES = 3


pytestmark = pytest.mark.slow  # real processes of both services (a whole stack)


def _start_directive_api(url: str) -> None:
    """What the start-up job ``directive-api migrate`` does (and ``serve`` before it listens)."""
    migrate_directive(url)
    asyncio.run(seed_directive(url))


def _upgrade(migrate: Callable[[str], None], url: str, barrier: Barrier) -> None:
    barrier.wait()
    migrate(url)


@pytest.mark.parametrize(
    ("migrate", "config"),
    [(_start_directive_api, directive_config), (migrate_report, report_config)],
    ids=["directive-api", "report-api"],
)
def test_replicas_migrating_at_once_all_succeed(
    postgres_server: PostgresServer, migrate: Callable[[str], None], config: Callable[[str], object]
) -> None:
    name = unique_name("migrate_race")
    url = postgres_server.create_database(name)
    try:
        context = multiprocessing.get_context("fork")
        barrier = context.Barrier(PROCESSES)
        processes = [context.Process(target=_upgrade, args=(migrate, url, barrier)) for _ in range(PROCESSES)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
        assert [p.exitcode for p in processes] == [0] * PROCESSES
        head = ScriptDirectory.from_config(config(url)).get_current_head()  # type: ignore[arg-type]
        with psycopg.connect(url.replace("postgresql+asyncpg://", "postgresql://")) as connection:
            assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
            if config is directive_config:
                units = connection.execute("SELECT count(*), count(DISTINCT code) FROM units").fetchall()
                assert units[0][0] == units[0][1] > 100
    finally:
        postgres_server.drop_database(name)
