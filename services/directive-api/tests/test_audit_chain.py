"""The history is append-only and hash-chained; the verifier pinpoints tampering."""

from __future__ import annotations

from typing import Any

import pytest
from directive_testing import Actors, Api
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from common.audit import verify_chain
from directive_api.directives.models import DirectiveHistory


async def _verify(app: FastAPI) -> Any:
    async with app.state.sessionmaker() as session:
        return await verify_chain(session, DirectiveHistory)


async def _lifecycle(api: Api, actors: Actors, letter: dict[str, Any]) -> dict[str, Any]:
    doc = await api.advance(await api.create(letter), "submit", actors.drafter)
    doc = await api.advance(doc, "return", actors.reviewer, comment="Sửa lại.")
    doc = await api.advance(doc, "submit", actors.drafter)
    return await api.advance(doc, "approve", actors.signer)


async def _unprotect(app: FastAPI) -> None:
    # What a database administrator could do: drop the append-only protection.
    async with app.state.engine.begin() as connection:
        if app.state.engine.dialect.name == "postgresql":
            await connection.execute(
                text("ALTER TABLE directive_history DISABLE TRIGGER directive_history_append_only")
            )
        else:
            await connection.execute(text("DROP TRIGGER directive_history_append_only_update"))
            await connection.execute(text("DROP TRIGGER directive_history_append_only_delete"))


async def test_chain_is_intact_after_normal_work(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    await _lifecycle(api, actors, letter)
    await _lifecycle(api, actors, letter)
    report = await _verify(app)
    assert report.ok, report.problems
    assert report.checked == 10
    history = await api.history(
        (await api.client.get("/v1/directives", headers=actors.drafter)).json()["items"][0]["id"]
    )
    assert len(history) == 5


async def test_history_refuses_update_and_delete(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    await _lifecycle(api, actors, letter)
    for statement in ("UPDATE directive_history SET comment = 'x'", "DELETE FROM directive_history"):
        async with app.state.engine.begin() as connection:
            with pytest.raises((DBAPIError, IntegrityError)):
                await connection.execute(text(statement))
    assert (await _verify(app)).ok


async def test_verifier_pinpoints_a_changed_entry(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    await _lifecycle(api, actors, letter)
    await _unprotect(app)
    async with app.state.engine.begin() as connection:
        await connection.execute(text("UPDATE directive_history SET comment = 'Đồng ý.' WHERE chain_seq = 3"))
    report = await _verify(app)
    assert not report.ok
    assert report.first_bad_seq == 3
    assert report.problems[0] == "entry 3 was changed after it was written"


async def test_verifier_pinpoints_a_removed_entry(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    await _lifecycle(api, actors, letter)
    await _unprotect(app)
    async with app.state.engine.begin() as connection:
        await connection.execute(text("DELETE FROM directive_history WHERE chain_seq = 2"))
    report = await _verify(app)
    assert report.first_bad_seq == 3
    assert "entries 2..2 are missing (removed)" in report.problems[0]


async def test_concurrent_writers_keep_one_chain(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    import asyncio

    docs = [await api.create(letter) for _ in range(12)]
    results = await asyncio.gather(*(api.act(doc, "submit", actors.drafter) for doc in docs))
    assert all(r.status_code == 200 for r in results)
    report = await _verify(app)
    assert report.ok, report.problems
    assert report.checked == 24
