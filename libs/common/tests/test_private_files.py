"""SQLite database files are private to their owner (they hold webhook secrets and personal data)."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from common.db import create_engine


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_and_an_existing_sqlite_file_are_0600(tmp_path: Path) -> None:
    fresh = tmp_path / "var" / "new.db"
    old = tmp_path / "old.db"
    old.write_bytes(b"")
    old.chmod(0o644)
    for path in (fresh, old):
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
        await engine.dispose()
        assert _mode(path) == 0o600, (path, oct(_mode(path)))
        for sidecar in path.parent.glob(path.name + "-*"):
            assert _mode(sidecar) == 0o600, sidecar
