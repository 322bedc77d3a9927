"""What both services' command lines share: the database option and operator-sized errors.

An operator who runs a command from the wrong folder, or against a database that is down, gets one
line saying what is wrong and what to do, not a traceback, and no empty SQLite file is left behind.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError


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
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file ``url`` names when it does not exist (None for other databases)."""
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
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else type(exc).__name__
        return fail(prog, f"database {redacted(url)}: {reason}", 1)
    except OSError as exc:
        return fail(prog, f"{type(exc).__name__}: {exc}", 1)
