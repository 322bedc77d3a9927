"""The migrations match the models, the database enforces the states, and the timer command runs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
from alembic import command
from fastapi import FastAPI
from report_testing import Api
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from common.db import create_engine
from common.testing import schema_drift
from report_api.cli import alembic_config, main, migrate, run_timers
from report_api.models import Model, load_all_models
from report_api.settings import Settings


def test_migrations_match_the_models(database_url: str) -> None:
    load_all_models()
    assert schema_drift(database_url, Model.metadata) == []


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [("obligations", "status", "overdue"), ("reminders", "kind", "canh_cao"), ("timers", "kind", "daily")],
)
async def test_check_constraints_refuse_unknown_states(
    api: Api, app: FastAPI, table: str, column: str, value: str
) -> None:
    directive = await api.dispatch()
    ob = await api.obligation_of("SNV", directive["id"])
    await api.ok("POST", f"/v1/obligations/{ob['id']}/reminders", api.actors.monitor, {"content": "Nhắc"}, 201)
    oid = uuid.UUID(ob["id"])
    where = "id = :id" if table == "obligations" else "obligation_id = :id"
    key = oid.hex if app.state.engine.dialect.name == "sqlite" else oid
    with pytest.raises(IntegrityError):
        async with app.state.sessionmaker() as session, session.begin():
            await session.execute(text(f"UPDATE {table} SET {column} = :v WHERE {where}"), {"v": value, "id": key})  # noqa: S608


async def test_run_timers_command_fires_due_timers_once(api: Api, app: FastAPI, settings: Settings) -> None:
    api.clock.set_local(date(2026, 11, 27), hour=8)
    directive = await api.dispatch()
    api.clock.set_local(date(2027, 1, 29))  # every step of the ladders (deadline 11/12/2026) is due
    fired = await run_timers(settings, interval=0.01, once=True, clock=api.clock)
    assert fired == 18
    assert await run_timers(settings, interval=0.01, once=True, clock=api.clock) == 0
    detail = (await api.get((await api.obligation_of("SNV", directive["id"]))["id"], api.actors.monitor)).json()
    assert detail["reminder_counts"] == {"nhac_nho": 2, "phe_binh": 3, "kiem_diem": 1}
    with pytest.raises(SystemExit):
        main(["no-such-command"])


def test_migration_0006_keeps_received_events_down_and_up(database_url: str) -> None:
    async def run(sql: str) -> list[tuple[object, ...]]:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(sql))
                return [tuple(row) for row in result.fetchall()] if result.returns_rows else []
        finally:
            await engine.dispose()

    asyncio.run(
        run(
            "INSERT INTO received_events (event_id, type, source, channel, received_at) "
            "VALUES ('evt_1', 'directive.issued', 'directive-api', 'feed', CURRENT_TIMESTAMP)"
        )
    )
    command.downgrade(alembic_config(database_url), "0005_fb")
    assert asyncio.run(run("SELECT id, type, channel FROM received_events")) == [("evt_1", "directive.issued", "feed")]
    migrate(database_url)
    assert asyncio.run(run("SELECT event_id, type FROM received_events")) == [("evt_1", "directive.issued")]
    load_all_models()
    assert schema_drift(database_url, Model.metadata) == []
