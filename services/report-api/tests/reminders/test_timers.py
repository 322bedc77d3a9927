"""The escalation ladder runs on durable timers, on working days, exactly once, across restarts."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, timedelta

from fastapi import FastAPI
from report_testing import VALID_REPORT, Api, small_addressees
from sqlalchemy import func, select

from common.db import create_engine, create_sessionmaker
from report_api.obligations.models import Obligation
from report_api.reminders.models import Reminder, Timer
from report_api.reminders.service import run_due_timers


async def _reminders(app: FastAPI) -> dict[str, list[tuple[str, str, str | None]]]:
    async with app.state.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Obligation.unit_code, Obligation.directive_id, Reminder)
                .join(Reminder, Reminder.obligation_id == Obligation.id)
                .order_by(Reminder.sent_at, Reminder.kind)
            )
        ).all()
    out: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    for unit, directive_id, reminder in rows:
        local = (reminder.sent_at + timedelta(hours=7)).date()
        out[f"{directive_id}/{unit}"].append((local.isoformat(), reminder.kind, reminder.escalated_to))
    return out


async def test_ladder_fires_on_working_days_skipping_weekends_and_tet(api: Api, app: FastAPI) -> None:
    api.clock.set_local(date(2026, 2, 5), hour=8)
    main = await api.dispatch(issued_on=date(2026, 2, 5))  # due Thu 26/2/2026 (Tết 16–20/2 skipped)
    short_compliance = {"deadline_working_days": 6, "report_fields": []}
    short = await api.dispatch(
        [small_addressees()[0]], issued_on=date(2026, 2, 9), compliance=short_compliance, notation="09/VPUB-TTĐH"
    )  # due Tue 24/2/2026
    snv = await api.obligation_of("SNV", main["id"])
    p = await api.obligation_of("P31120", main["id"])
    assert (snv["due_on"], (await api.obligation_of("X31299", short["id"]))["due_on"]) == ("2026-02-26", "2026-02-24")

    settings = app.state.settings
    fired_on: dict[str, int] = {}
    day = date(2026, 2, 5)
    while day <= date(2026, 3, 20):
        api.clock.set_local(day, hour=9)
        if day == date(2026, 2, 25):
            await api.acknowledge(snv["id"], "SNV")
            await api.submit(snv["id"], "SNV", VALID_REPORT)  # on time: the ladder stops for SNV
        if day == date(2026, 3, 4):
            await api.acknowledge(p["id"], "P31120")
            await api.submit(p["id"], "P31120", VALID_REPORT)  # late: no reminders after
        count = await run_due_timers(app.state.sessionmaker, api.clock(), settings=settings)
        if count:
            fired_on[day.isoformat()] = count
        day += timedelta(days=1)

    assert all(date.fromisoformat(d).weekday() < 5 for d in fired_on)
    assert not any("2026-02-14" <= d <= "2026-02-22" for d in fired_on)
    got = await _reminders(app)
    assert got[f"{main['id']}/X31299"] == [
        ("2026-02-24", "nhac_nho", None),
        ("2026-02-27", "nhac_nho", None),
        ("2026-03-03", "phe_binh", None),
        ("2026-03-06", "phe_binh", None),
        ("2026-03-11", "phe_binh", None),
        ("2026-03-12", "kiem_diem", "UBND-TP"),
    ]
    assert got[f"{main['id']}/SNV"] == [("2026-02-24", "nhac_nho", None)]
    assert got[f"{main['id']}/P31120"] == [
        ("2026-02-24", "nhac_nho", None),
        ("2026-02-27", "nhac_nho", None),
        ("2026-03-03", "phe_binh", None),
    ]
    assert got[f"{short['id']}/X31299"][:3] == [
        ("2026-02-13", "nhac_nho", None),  # 2 working days before 24/2: the Friday before Tết
        ("2026-02-25", "nhac_nho", None),
        ("2026-02-27", "phe_binh", None),
    ]
    detail = (await api.get((await api.obligation_of("X31299", main["id"]))["id"], api.actors.monitor)).json()
    assert detail["reminder_counts"] == {"nhac_nho": 2, "phe_binh": 3, "kiem_diem": 1}
    await api.sequence_events()
    events = await api.ok("GET", "/v1/events?limit=500", api.actors.integration)
    overdue = [e for e in events["items"] if e["type"] == "obligation.overdue"]
    assert sorted((e["data"]["unit_code"], e["data"]["due_on"]) for e in overdue) == [
        ("P31120", "2026-02-26"),
        ("X31299", "2026-02-24"),
        ("X31299", "2026-02-26"),
    ]


async def test_worker_fires_each_timer_once_across_restarts_and_concurrent_workers(
    api: Api, app: FastAPI, database_url: str
) -> None:
    api.clock.set_local(date(2026, 2, 5), hour=8)
    await api.dispatch(issued_on=date(2026, 2, 5))
    async with app.state.sessionmaker() as session:
        total = int(await session.scalar(select(func.count()).select_from(Timer)) or 0)
    assert total == 18
    settings = app.state.settings
    api.clock.set_local(date(2026, 3, 3), hour=9)  # pre-deadline, overdue and the first Phê bình are due
    fired = await run_due_timers(app.state.sessionmaker, api.clock(), settings=settings)
    assert fired == 9

    # "restart": a new engine and session maker, the same clock: nothing fires twice
    engine = create_engine(database_url, null_pool=True)
    try:
        assert await run_due_timers(create_sessionmaker(engine), api.clock(), settings=settings) == 0
    finally:
        await engine.dispose()

    # two workers at once (two engines) share the rest without firing anything twice
    api.clock.set_local(date(2026, 3, 30), hour=9)
    engines = [create_engine(database_url, null_pool=True) for _ in range(2)]
    try:
        results = await asyncio.gather(
            *(run_due_timers(create_sessionmaker(e), api.clock(), settings=settings, batch_size=2) for e in engines)
        )
    finally:
        for e in engines:
            await e.dispose()
    assert sum(results) == total - fired
    got = await _reminders(app)
    assert sum(len(v) for v in got.values()) == total
    async with app.state.sessionmaker() as session:
        counters = (
            await session.execute(
                select(
                    func.sum(Obligation.nhac_nho_count),
                    func.sum(Obligation.phe_binh_count),
                    func.sum(Obligation.kiem_diem_count),
                )
            )
        ).one()
    assert tuple(int(c) for c in counters) == (6, 9, 3)
