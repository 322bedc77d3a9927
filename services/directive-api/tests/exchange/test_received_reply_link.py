"""A unit links its own draft as the reply to a document it received: only its own document, only
before dispatch, once (the same link again is the same answer; another received document is a 409)."""

from __future__ import annotations

import uuid
from typing import Any

from directive_testing import Clock
from exchange_testing import OFFICE, hub_clients, letter
from fastapi import FastAPI
from sqlalchemy import text

from common.testing import TokenFactory
from common.vxp.hub import HubProcess
from directive_api.exchange import transport
from directive_api.people.models import Person
from directive_api.seed.loader import seed_letter


def _reply(subject: str) -> dict[str, Any]:
    return {
        **seed_letter(),
        "subject": subject,
        "issuer_code": "SNV",
        "addressees": [{"unit": "VPUB"}],
        "info_recipients": [{"as_above": True}],
        "signer_id": "ho-thi-lan",
        "drafting_unit": "VP",
        "archive_line": "Lưu: VT, VP.",
        "compliance": None,
    }


async def test_a_unit_links_its_own_draft_as_the_reply_once(
    department: FastAPI, hub: HubProcess, clock: Clock, token_factory: TokenFactory
) -> None:
    drafter = token_factory.headers("nguyen-van-nam", ["drafter"], "SNV")
    office_drafter = token_factory.headers("tran-van-an", ["drafter"], "VPUB")
    async with department.state.sessionmaker() as session, session.begin():  # Sở Nội vụ issues its own documents
        await session.execute(text("UPDATE units SET notation = 'SNV' WHERE code = 'SNV'"))
        session.add(
            Person(
                id="ho-thi-lan",
                full_name="Hồ Thị Lan",
                unit_code="SNV",
                position="Giám đốc Sở",
                roles=["signer"],
                signature_title_lines=["GIÁM ĐỐC"],
            )
        )
    async with hub_clients(department, hub) as (client, office, snv):
        for number in ("07", "08"):
            await office.send(letter(number)[0], sender=OFFICE.organ_id, message_type="edoc")
        assert (await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())).applied
        ids = {r["notation"]: r["id"] for r in (await client.get("/v1/edxml/received", headers=drafter)).json()}

        async def draft(headers: dict[str, str], body: dict[str, Any]) -> str:
            created = await client.post(
                "/v1/directives", json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
            )
            assert created.status_code == 201, created.text
            return str(created.json()["id"])

        ours = await draft(drafter, _reply("báo cáo kết quả theo dõi Kênh thông tin chính thức"))
        theirs = await draft(office_drafter, seed_letter())

        url = f"/v1/edxml/received/{ids['07/VPUB-TTĐH']}/reply"
        linked = await client.post(url, json={"directive_id": ours}, headers=drafter)
        assert linked.status_code == 200, linked.text
        assert (linked.json()["directive_id"], linked.json()["received_document_id"]) == (ours, ids["07/VPUB-TTĐH"])
        again = await client.post(url, json={"directive_id": ours}, headers=drafter)
        assert (again.status_code, again.json()["linked_at"]) == (200, linked.json()["linked_at"])

        other = await client.post(
            f"/v1/edxml/received/{ids['08/VPUB-TTĐH']}/reply", json={"directive_id": ours}, headers=drafter
        )
        assert other.status_code == 409  # it already answers 07
        assert other.headers["content-type"] == "application/problem+json"
        # Another unit's document, or none, is not a reply of this unit's.
        for directive_id in (theirs, str(uuid.UUID(int=1))):
            refused = await client.post(url, json={"directive_id": directive_id}, headers=drafter)
            assert refused.status_code == 422, refused.text
