"""The Office answers a unit's reply package 01 and 03 when it arrives and 06 when its follow-up officer
accepts the unit's report in report-api (``obligation.accepted``), whichever comes first; each once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from directive_testing import Actors, Api, Clock
from exchange_testing import INBOX_SECRET
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select, text

from common.edxml import (
    Organization,
    build_document_package,
    make_document_package,
    parse_document_package,
    parse_status_package,
    response_for_document,
)
from common.testing import asgi_client
from common.vxp.client import VxpClient
from common.vxp.hub import HubProcess
from common.webhooks import signature_headers
from directive_api.exchange import transport
from directive_api.exchange.models import ExchangeOutbox
from directive_api.main import create_app
from directive_api.settings import ExchangeSettings, Settings, VxpSettings


@pytest.fixture
async def office(settings: Settings, clock: Clock, hub: HubProcess) -> AsyncIterator[FastAPI]:
    vxp = VxpSettings(base_url=hub.url, system_id="vxp.vpub", secret=SecretStr("office-secret"), max_attempts=2)
    configured = settings.model_copy(
        update={"exchange": ExchangeSettings(vxp=vxp), "inbox_secrets": [SecretStr(INBOX_SECRET)]}
    )
    application = create_app(configured, clock=clock)
    yield application
    await application.state.engine.dispose()


async def _accepted(client: httpx.AsyncClient, event_id: str, directive_id: str, unit_code: str, sequence: int) -> None:
    event = {
        "id": event_id,
        "type": "obligation.accepted",
        "source": "report-api",
        "subject": f"obl-{unit_code}",
        "sequence": sequence,
        "data": {"directive_id": directive_id, "unit_code": unit_code, "obligation_id": f"obl-{unit_code}"},
    }
    body = json.dumps(event).encode()
    headers = {**signature_headers(INBOX_SECRET, event_id, body), "Content-Type": "application/json"}
    response = await client.post("/v1/inbox/events", content=body, headers=headers)
    assert response.status_code == 200, response.text


async def _reply(client: httpx.AsyncClient, actors: Actors, ours: bytes, unit: Organization, number: str) -> str:
    """The unit's reply package to our letter, posted by the unit itself; its DocumentId."""
    letter = parse_document_package(ours)
    document_id = f"{unit.organ_id},2026/12/01,{number}"
    header = letter.header.model_copy(
        update={
            "sender": unit,
            "recipients": (letter.header.sender,),
            "subject": "Báo cáo kết quả theo dõi, chia sẻ Kênh thông tin chính thức",
            "document_id": document_id,
            "response_for": (response_for_document(letter),),
        }
    )
    headers = {
        **actors.tokens.headers(f"clerk-{number}", ["clerk"], number.split("-")[-1]),
        "Content-Type": "application/xml",
    }
    response = await client.post(
        "/v1/edxml/inbox", content=build_document_package(make_document_package(header)), headers=headers
    )
    assert response.status_code == 202, response.text
    assert [link["outcome"] for link in response.json()["links"]] == ["applied"]
    return document_id


async def test_a_reply_is_answered_06_when_the_office_accepts_the_report_in_either_order(
    office: FastAPI, hub: HubProcess, actors: Actors, letter: dict[str, Any], clock: Clock
) -> None:
    async with asgi_client(office, "http://directive-api.test") as client, httpx.AsyncClient(timeout=30) as http:
        api = Api(client, actors)
        doc = await api.advance(await api.approved(letter), "issue", actors.clerk)
        doc = await api.advance(doc, "dispatch", actors.clerk)
        ours = (await client.get(f"/v1/directives/{doc['id']}/edxml", headers=actors.clerk)).content
        async with office.state.engine.connect() as connection:
            organs = dict(
                (await connection.execute(text("SELECT code, organ_id FROM units WHERE code IN ('SNV', 'STP')"))).all()
            )
        snv = Organization(organ_id=organs["SNV"], organ_name="Sở Nội vụ")
        stp = Organization(organ_id=organs["STP"], organ_name="Sở Tư pháp")

        # Sở Nội vụ replies, then the Office accepts its report: 01 and 03 at once, 06 on acceptance.
        snv_reply = await _reply(client, actors, ours, snv, "15/BC-SNV")
        await _accepted(client, "evt-1", doc["id"], "SNV", 1)
        await _accepted(client, "evt-2", doc["id"], "SNV", 2)  # said again: 06 leaves once
        # Sở Tư pháp's report was accepted in report-api before its reply package came: all at once.
        await _accepted(client, "evt-3", doc["id"], "STP", 1)
        stp_reply = await _reply(client, actors, ours, stp, "20/BC-STP")

        async with office.state.sessionmaker() as session:
            keys = (
                await session.scalars(
                    select(ExchangeOutbox.package_key)
                    .where(ExchangeOutbox.kind == "status")
                    .order_by(ExchangeOutbox.id)
                )
            ).all()
        assert keys == [f"status:{snv_reply}:{c}" for c in ("01", "03", "06")] + [
            f"status:{stp_reply}:{c}" for c in ("01", "03", "06")
        ]

        # Through the hub: Sở Nội vụ reads the Office's 01, 03, 06 about its reply.
        vpub = VxpClient(hub.url, "vxp.vpub", "office-secret", http)
        snv_member = VxpClient(hub.url, "vxp.snv", "snv-secret", http)
        for _ in range(3):
            await transport.step(office.state.sessionmaker, vpub, office.state.pdf, now=clock())
        codes = []
        for item in await snv_member.received("status"):
            status = parse_status_package(await snv_member.fetch(item.doc_id))
            assert [r.document_id for r in status.response_for] == [snv_reply]
            codes.append(status.status_code)
        assert sorted(codes) == ["01", "03", "06"]
