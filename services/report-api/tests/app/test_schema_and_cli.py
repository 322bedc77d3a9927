"""The migrations match the models, the database enforces the states, and the timer command runs."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from fastapi import FastAPI
from report_testing import Api
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from common.testing import schema_drift
from report_api.cli import main, run_timers
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
