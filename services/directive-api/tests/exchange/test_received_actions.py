"""The addressed unit's people answer a received document with the QCVN status packages: 02 refused
(with a reason, only before 03), 03 registered, 04 assigned, 05 processing, 06 done — each once, never
backwards, and consistent with the 03/06 that report-api's events produce."""

from __future__ import annotations

import httpx
from directive_testing import Clock
from exchange_testing import OFFICE, answers, hub_clients, letter, report_api_event
from fastapi import FastAPI
from sqlalchemy import select

from common.testing import TokenFactory
from common.vxp.hub import HubProcess
from directive_api.events.models import OutboxEvent
from directive_api.exchange import transport
from directive_api.exchange.models import ExchangeOutbox


async def _outbox(app: FastAPI) -> list[tuple[str, str | None]]:
    async with app.state.sessionmaker() as session:
        rows = (await session.scalars(select(ExchangeOutbox).order_by(ExchangeOutbox.id))).all()
        return [(row.package_key, row.description) for row in rows]


async def test_the_clerk_registers_assigns_processes_and_closes_each_once_never_backwards(
    department: FastAPI, hub: HubProcess, clock: Clock, token_factory: TokenFactory
) -> None:
    clerk = token_factory.headers("le-minh-tam", ["clerk"], "SNV")
    leader = token_factory.headers("ho-thi-lan", ["signer"], "SNV")
    handler = token_factory.headers("nguyen-van-nam", ["drafter"], "SNV")
    office_clerk = token_factory.headers("vo-thi-thu", ["clerk"], "VPUB")
    async with hub_clients(department, hub) as (client, office, snv):
        data, document_id = letter("07")
        await office.send(data, sender=OFFICE.organ_id, message_type="edoc")
        assert (await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())).applied
        (listed,) = (await client.get("/v1/edxml/received", headers=clerk)).json()
        assert listed["status"] == "01"
        url = f"/v1/edxml/received/{listed['id']}/status"

        async def answer(code: str, headers: dict[str, str], reason: str | None = None) -> httpx.Response:
            return await client.post(
                url, json={"code": code, **({"reason": reason} if reason else {})}, headers=headers
            )

        # Who may: the registry registers; another unit's clerk does not even see it; a drafter cannot.
        assert (await answer("03", handler)).status_code == 403
        missing = await answer("03", office_clerk)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        # Bad input changes nothing.
        for body in ({"code": "07"}, {"code": "03", "reason": "a\x00b"}, {"code": "03", "extra": 1}, {}):
            bad = await client.post(url, json=body, headers=clerk)
            assert bad.status_code == 422, (body, bad.text)
            assert bad.headers["content-type"] == "application/problem+json"
        # Assigning or closing before registering is a conflict.
        early = await answer("04", clerk)
        assert early.status_code == 409
        assert early.headers["content-type"] == "application/problem+json"
        assert early.json()["answered"] == "01"

        registered = await answer("03", clerk)
        assert registered.status_code == 200, registered.text
        assert (registered.json()["status"], registered.json()["status_by"]) == ("03", "le-minh-tam")
        again = await answer("03", clerk)
        assert (again.status_code, again.json()["status"]) == (200, "03")  # idempotent: no second package
        refused = await answer("02", clerk, "Không đúng thẩm quyền.")
        assert refused.status_code == 409, refused.text  # a refusal comes only before registration
        # report-api's acknowledgement after the clerk registered it: 03 is said already.
        assert not await report_api_event(client, "evt-1", "obligation.acknowledged", listed["id"])

        assert (await answer("04", leader, "Giao Phòng Công chức - Viên chức chủ trì.")).status_code == 200
        assert (await answer("05", handler)).status_code == 200
        back = await answer("04", clerk)
        assert back.status_code == 409  # never backwards
        assert "04 would go back" in back.json()["detail"]
        done = await answer("06", clerk)
        assert done.json()["status"] == "06"
        # report-api's report comes late: 06 is said already; nothing goes back.
        assert not await report_api_event(client, "evt-2", "obligation.submitted", listed["id"])
        assert (await answer("06", clerk)).status_code == 200
        assert (await answer("05", clerk)).status_code == 409

        keys = [key for key, _ in await _outbox(department)]
        assert keys == [f"status:{listed['id']}:{code}" for code in ("01", "03", "04", "05", "06")]
        round_ = await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())
        assert round_.sent == 5
        got = await answers(office)
        assert [(doc, code) for doc, code, _ in got] == [(document_id, c) for c in ("01", "03", "04", "05", "06")]
        assert got[2][2] == "Lãnh đạo: Phân công xử lý: Giao Phòng Công chức - Viên chức chủ trì."
        assert got[4][2] == "Văn thư: Ban hành văn bản đến, hoàn thành xử lý"  # the standard wording


async def test_a_refusal_needs_a_reason_is_final_and_closes_the_obligation(
    department: FastAPI, hub: HubProcess, clock: Clock, token_factory: TokenFactory
) -> None:
    clerk = token_factory.headers("le-minh-tam", ["clerk"], "SNV")
    async with hub_clients(department, hub) as (client, office, snv):
        data, document_id = letter("08")
        await office.send(data, sender=OFFICE.organ_id, message_type="edoc")
        await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())
        (listed,) = (await client.get("/v1/edxml/received", headers=clerk)).json()
        url = f"/v1/edxml/received/{listed['id']}/status"

        no_reason = await client.post(url, json={"code": "02"}, headers=clerk)
        assert no_reason.status_code == 422
        assert no_reason.headers["content-type"] == "application/problem+json"
        assert (await client.get("/v1/edxml/received", headers=clerk)).json()[0]["status"] == "01"

        reason = "Văn bản gửi nhầm đơn vị, đề nghị gửi Sở Tư pháp."
        refused = await client.post(url, json={"code": "02", "reason": reason}, headers=clerk)
        assert refused.status_code == 200, refused.text
        assert (refused.json()["status"], refused.json()["status_reason"]) == ("02", reason)
        # Final: neither a person nor report-api's late events answer anything after it.
        for code in ("03", "06"):
            assert (await client.post(url, json={"code": code}, headers=clerk)).status_code == 409
        assert not await report_api_event(client, "evt-1", "obligation.acknowledged", listed["id"])
        assert not await report_api_event(client, "evt-2", "obligation.submitted", listed["id"])
        async with department.state.sessionmaker() as session:
            (closed,) = (
                await session.scalars(select(OutboxEvent).where(OutboxEvent.type == "directive.recalled"))
            ).all()
            assert closed.data["directive"]["id"] == listed["id"]  # report-api closes the unit's obligation
            assert closed.data["reason"] == f"Từ chối tiếp nhận: {reason}"

        await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())
        got = await answers(office)
        assert [(doc, code) for doc, code, _ in got] == [(document_id, "01"), (document_id, "02")]
        assert got[1][2] == f"Văn thư - Phòng Văn thư - Lưu trữ: Từ chối không tiếp nhận văn bản điện tử: {reason}"
