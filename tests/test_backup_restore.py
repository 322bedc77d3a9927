"""scripts/backup and scripts/restore round-trip a seeded directive-api database, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from common.testing import PostgresServer, unique_name
from directive_api.cli import migrate, seed

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), *args], check=True, capture_output=True, text=True
    )
    return done.stdout


def _migrated_and_seeded(url: str) -> dict[str, int]:
    migrate(url)
    loaded = asyncio.run(seed(url))
    assert any(loaded.values()), loaded
    return loaded


def _sqlite_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as connection:
        tables = [
            name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        query = 'SELECT * FROM "{}"'  # table names come from sqlite_master
        return {table: sorted(connection.execute(query.format(table)).fetchall(), key=repr) for table in tables}


def _postgres_rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            ).fetchall()
        ]
        return {
            table: sorted(
                connection.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))).fetchall(), key=repr
            )
            for table in tables
        }


def test_sqlite_backup_restores_into_a_fresh_file(tmp_path: Path) -> None:
    database = tmp_path / "var" / "directive-api.db"
    database.parent.mkdir()
    _migrated_and_seeded(f"sqlite+aiosqlite:///{database}")
    backup = tmp_path / "backups" / "directive-api.sqlite"

    _run("backup", f"sqlite+aiosqlite:///{database}", str(backup))
    restored = tmp_path / "restored" / "directive-api.db"
    _run("restore", str(backup), f"sqlite+aiosqlite:///{restored}")

    # Every file holding the data (webhook secrets, people) is private to its owner.
    for path in (database, backup, restored):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path, oct(path.stat().st_mode))
    original, copy = _sqlite_rows(database), _sqlite_rows(restored)
    assert "alembic_version" in copy
    assert sum(len(rows) for rows in copy.values()) > 10
    assert copy == original
    # Restoring never writes over an existing database.
    refused = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "restore"), str(backup), f"sqlite+aiosqlite:///{restored}"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "exists" in refused.stderr


def test_both_embedded_databases_back_up_from_the_environment(tmp_path: Path) -> None:
    directive = tmp_path / "directive-api.db"
    report = tmp_path / "report-api.db"
    for path in (directive, report):
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE t (x INTEGER)")
            connection.execute("INSERT INTO t VALUES (1)")
    env = {
        "DIRECTIVE_API_DATABASE__URL": f"sqlite+aiosqlite:///{directive}",
        "REPORT_API_DATABASE__URL": f"sqlite+aiosqlite:///{report}",
        "PATH": "/usr/bin:/bin",
    }
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "backup"), "--from-env", str(tmp_path / "out")],
        check=True,
        env=env,
        capture_output=True,
    )
    written = sorted(p.name.split("-2")[0] for p in (tmp_path / "out").iterdir())
    assert written == ["directive-api", "report-api"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "out").iterdir()} == {0o600}


def test_postgres_backup_restores_into_a_fresh_database(postgres_server: PostgresServer, tmp_path: Path) -> None:
    source_name, target_name = unique_name("backup_src"), unique_name("backup_dst")
    source = postgres_server.create_database(source_name)
    target = postgres_server.url_for(target_name)
    try:
        _migrated_and_seeded(source)
        backup = tmp_path / "directive-api.dump"
        _run("backup", source, str(backup))
        assert backup.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600

        _run("restore", "--create", str(backup), target)

        original, copy = _postgres_rows(source), _postgres_rows(target)
        assert "alembic_version" in copy
        assert sum(len(rows) for rows in copy.values()) > 10
        assert copy == original
        # A second restore into the now non-empty database is refused.
        refused = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "restore"), str(backup), target], capture_output=True, text=True
        )
        assert refused.returncode != 0 and "fresh database" in refused.stderr
    finally:
        postgres_server.drop_database(source_name)
        postgres_server.drop_database(target_name)
