"""The obligation history is append-only and hash-chained."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from report_testing import Api
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from common.audit import verify_chain
from report_api.obligations.models import ObligationHistory


async def test_chain_append_only_and_tamper_evident(api: Api, app: FastAPI) -> None:
    await api.dispatch()
    async with app.state.sessionmaker() as session:
        report = await verify_chain(session, ObligationHistory)
    assert report.ok, report.problems
    assert report.checked >= 2
    async with app.state.engine.begin() as connection:
        with pytest.raises((DBAPIError, IntegrityError)):
            await connection.execute(text("UPDATE obligation_history SET comment = 'x'"))
    async with app.state.engine.begin() as connection:
        if app.state.engine.dialect.name == "postgresql":
            await connection.execute(
                text("ALTER TABLE obligation_history DISABLE TRIGGER obligation_history_append_only")
            )
        else:
            await connection.execute(text("DROP TRIGGER obligation_history_append_only_update"))
        await connection.execute(text("UPDATE obligation_history SET actor_name = 'ai đó' WHERE chain_seq = 2"))
    async with app.state.sessionmaker() as session:
        tampered = await verify_chain(session, ObligationHistory)
    assert tampered.first_bad_seq == 2
    assert tampered.problems[0] == "entry 2 was changed after it was written"
