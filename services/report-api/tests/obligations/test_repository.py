"""Reads are scoped in SQL, and status columns load as their typed states."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from report_testing import Api
from sqlalchemy import select

from report_api.obligations.models import DirectiveRecord, Obligation
from report_api.obligations.repository import readable_statement
from report_api.obligations.states import DirectiveStatus, ObligationStatus
from report_api.reminders.models import Reminder
from report_api.reminders.states import ReminderKind


def test_a_unit_officer_reads_its_unit_only_in_the_statement_itself() -> None:
    unit = str(readable_statement(office=False, unit="SNV").compile(compile_kwargs={"literal_binds": True}))
    office = str(readable_statement(office=True, unit="VPUB").compile(compile_kwargs={"literal_binds": True}))
    assert "WHERE obligations.unit_code = 'SNV'" in unit
    assert "WHERE" not in office


async def test_states_load_as_their_enums(api: Api, app: FastAPI) -> None:
    directive = await api.dispatch()
    ob = await api.obligation_of("SNV", directive["id"])
    await api.acknowledge(ob["id"], "SNV")
    body = {"kind": "phe_binh", "content": "Phê bình"}
    await api.ok("POST", f"/v1/obligations/{ob['id']}/reminders", api.actors.monitor, body, 201)
    async with app.state.sessionmaker() as session:
        obligation = await session.get(Obligation, uuid.UUID(ob["id"]))
        record = await session.get(DirectiveRecord, directive["id"])
        reminder = await session.scalar(select(Reminder).where(Reminder.obligation_id == uuid.UUID(ob["id"])))
    assert obligation is not None and record is not None and reminder is not None
    assert obligation.status is ObligationStatus.acknowledged
    assert record.status is DirectiveStatus.active
    assert reminder.kind is ReminderKind.phe_binh
