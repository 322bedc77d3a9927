"""Problem ``type`` URIs start with the base the service gives; common has no deployment's own."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter

from common import problems
from common.app import create_service_app
from common.problems import NotFoundError, use_problem_type_base
from common.settings import DatabaseSettings
from common.testing import TokenFactory, asgi_client


@pytest.fixture
def type_base() -> Iterator[None]:
    """The base is process-wide: give it back as it was."""
    saved = dict(problems._type_base)
    yield
    problems._type_base.update(saved)


@pytest.mark.usefixtures("type_base")
def test_the_base_is_checked_and_used_by_every_problem_class() -> None:
    # Before any service set its own (a fresh process), common's base names no deployment.
    fresh = subprocess.run(
        [sys.executable, "-c", "from common.problems import problem_type; print(problem_type('x'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert fresh.stdout.strip() == "https://problems.invalid/x"
    use_problem_type_base("https://problems.example.org/")
    assert NotFoundError.type_uri() == "https://problems.example.org/not-found"
    with pytest.raises(ValueError, match="end with"):
        use_problem_type_base("https://problems.example.org")


@pytest.mark.usefixtures("type_base")
async def test_a_service_app_answers_with_its_own_problem_types(tmp_path: Path, token_factory: TokenFactory) -> None:
    router = APIRouter()

    @router.get("/missing")
    async def missing() -> None:
        raise NotFoundError("nothing here")

    @router.get("/count/{n}")
    async def count(n: int) -> int:
        return n

    app = create_service_app(
        title="t",
        version="1",
        description="problem types",
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"),
        auth=token_factory.auth,
        routers=[router],
        problem_type_base="https://problems.example.org/",
    )
    try:
        async with asgi_client(app, "http://t.test") as client:
            found: httpx.Response = await client.get("/missing")
            invalid = await client.get("/count/many")
    finally:
        await app.state.engine.dispose()
    assert found.status_code == 404
    assert found.json()["type"] == "https://problems.example.org/not-found"
    assert (invalid.status_code, invalid.json()["type"]) == (422, "https://problems.example.org/validation")
