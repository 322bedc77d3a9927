"""Helpers of the security, reliability and fuzzing suites (importable: the folder is on pytest's pythonpath)."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import create_engine, func, inspect, select, table
from sqlalchemy.engine import make_url

from directive_api.seed.loader import seed_letter

LOG = logging.getLogger("directive_api.security_suites")
"""Figures of the suites (cases run, findings): ``pytest -o log_cli=true --log-cli-level=INFO``."""

REQUEST_TIMEOUT = 30.0
"""No single request of these suites may take longer (a hang fails the test instead of blocking CI)."""

OFFICE = "VPUB"
ADDRESSED_UNIT = "X31299"
OTHER_UNIT = "SNV"


class SyncApi:
    """The application behind httpx's ASGI transport, driven from synchronous code on one private loop.

    hypothesis runs synchronous test functions; one event loop for the whole test keeps the
    application's connection pool usable from one request to the next.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.runner = asyncio.Runner()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://directive-api.test")
        self.requests = 0

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request; fails with ``TimeoutError`` if the application does not answer in
        ``timeout`` seconds (default ``REQUEST_TIMEOUT``)."""
        timeout = float(kwargs.pop("timeout", REQUEST_TIMEOUT))
        self.requests += 1
        return self.runner.run(asyncio.wait_for(self.client.request(method, url, **kwargs), timeout))

    def close(self) -> None:
        self.runner.run(self.client.aclose())
        self.runner.run(self.app.state.engine.dispose())
        self.runner.close()


def sync_database_url(url: str) -> str:
    """The synchronous driver's URL of the test database (for direct row counts)."""
    parsed = make_url(url)
    driver = "sqlite" if parsed.drivername.startswith("sqlite") else "postgresql+psycopg"
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def row_counts(url: str) -> dict[str, int]:
    """Rows in every table of the database, read over a separate connection."""
    engine = create_engine(sync_database_url(url))
    try:
        with engine.connect() as connection:
            names = inspect(connection).get_table_names()
            return {
                name: int(connection.execute(select(func.count()).select_from(table(name))).scalar_one())
                for name in names
            }
    finally:
        engine.dispose()


def stored_files(root: Path) -> set[str]:
    """Every file the application stored on disk (PDFs are content-addressed)."""
    if not root.exists():
        return set()
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def letter_to(unit: str = ADDRESSED_UNIT, *, short: bool = True) -> dict[str, Any]:
    """The seed letter addressed to one unit only (``addressees: [{"unit": …}]``), optionally shortened."""
    body = copy.deepcopy(seed_letter())
    body["addressees"] = [{"unit": unit}]
    body["info_recipients"] = [{"as_above": True}]
    if short:
        body["body"] = [{"kind": "paragraph", "text": "Đề nghị các đơn vị triển khai thực hiện."}]
    return body


def assert_problem(response: httpx.Response, status: int | None = None) -> None:
    """An error answer is ``application/problem+json`` with the RFC 9457 members."""
    if status is not None:
        assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.status_code >= 400, response.status_code
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    problem = response.json()
    assert problem["status"] == response.status_code, problem
    assert isinstance(problem["type"], str), problem
    assert isinstance(problem["title"], str), problem


def route_table(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every (method, path) the application serves, HEAD and OPTIONS left out.

    FastAPI keeps included routers as lazy ``_IncludedRouter`` entries; their effective routes
    (with the prefixes applied) are walked too.
    """
    for route in app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for context in contexts:
            original = getattr(context, "original_route", context)
            methods = getattr(context, "methods", None) or getattr(original, "methods", None) or set()
            path = getattr(context, "path", None) or getattr(original, "path", None)
            if not path:
                continue
            for method in sorted(set(methods) - {"HEAD", "OPTIONS"}):
                yield method, str(path)
