"""Partners are known by organ id; a package from an unknown one is kept for an administrator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from directive_testing import Actors, Api
from fastapi import FastAPI
from sqlalchemy import text

from common.edxml import (
    Organization,
    ResponseFor,
    build_document_package,
    build_status_package,
    make_document_package,
    make_status_package,
    parse_document_package,
)
from directive_api.settings import Settings

PARTNER = Organization(organ_id="000.00.80.H13", organ_name="Sở Y tế thành phố Cần Thơ")
OURS = ResponseFor(organ_id="000.00.01.H13", code="01/VPUB-TTĐH", document_id="000.00.01.H13,2026/11/27,01/VPUB-TTĐH")


GATEWAY = "vxp-gateway"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The gateway to the national exchange relays for every sender, known to the directory or not."""
    return settings.model_copy(update={"exchange_relays": {GATEWAY: ["*"]}})


def _gateway(actors: Actors) -> dict[str, str]:
    return actors.tokens.headers(GATEWAY, ["integration"], "VPUB")


def _xml(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "application/xml"}


async def _dispatched(api: Api, actors: Actors, letter: dict[str, Any]) -> dict[str, Any]:
    issued = await api.advance(await api.approved(letter), "issue", actors.clerk)
    return await api.advance(issued, "dispatch", actors.clerk)


def _status(code: str, minute: int) -> bytes:
    package = make_status_package(
        sender=PARTNER, document=OURS, status_code=code, timestamp=datetime(2026, 11, 28, 9, minute)
    )
    return build_status_package(package)


async def _count(app: FastAPI, sql: str) -> int:
    async with app.state.engine.connect() as connection:
        return int((await connection.execute(text(sql))).scalar_one())


def _admin(actors: Actors) -> dict[str, str]:
    return actors.tokens.headers("quan-tri", ["admin"], "VPUB")


async def test_a_package_from_an_unknown_organ_id_is_quarantined_then_mapped_and_applied(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    doc = await _dispatched(api, actors, letter)
    # Only a relay may speak for a sender the directory does not know: the Office's clerk may not.
    refused = await api.client.post("/v1/edxml/status", content=_status("01", 0), headers=_xml(actors.clerk))
    assert refused.status_code == 403, refused.text
    assert await _count(app, "SELECT count(*) FROM quarantined_packages") == 0
    first = await api.client.post("/v1/edxml/status", content=_status("01", 0), headers=_xml(_gateway(actors)))
    assert first.status_code == 202, first.text
    assert first.json()["deliveries"] == []
    quarantine_id = first.json()["quarantine_id"]
    again = await api.client.post("/v1/edxml/status", content=_status("01", 0), headers=_xml(_gateway(actors)))
    assert again.json()["quarantine_id"] == quarantine_id  # the same bytes are kept once
    later = await api.client.post("/v1/edxml/status", content=_status("03", 5), headers=_xml(_gateway(actors)))
    assert later.status_code == 202
    assert await _count(app, "SELECT count(*) FROM exchange_packages WHERE direction = 'in'") == 0

    assert (await api.client.get("/v1/edxml/quarantine", headers=actors.clerk)).status_code == 403
    listed = await api.client.get("/v1/edxml/quarantine", headers=_admin(actors))
    assert listed.status_code == 200
    rows = listed.json()
    assert [(r["sender_organ_id"], r["kind"], r["state"]) for r in rows] == [("000.00.80.H13", "status", "pending")] * 2
    assert rows[0]["sender_name"] == "Sở Y tế thành phố Cần Thơ"

    unknown = await api.client.post(
        f"/v1/edxml/quarantine/{quarantine_id}/map", json={"unit_code": "NOPE"}, headers=_admin(actors)
    )
    assert unknown.status_code == 422
    taken = await api.client.post(
        f"/v1/edxml/quarantine/{quarantine_id}/map", json={"unit_code": "UBND-TP"}, headers=_admin(actors)
    )
    assert taken.status_code == 409  # UBND-TP holds an official identifier already
    mapped = await api.client.post(
        f"/v1/edxml/quarantine/{quarantine_id}/map", json={"unit_code": "SYT"}, headers=_admin(actors)
    )
    assert mapped.status_code == 200, mapped.text
    resolved = mapped.json()
    assert [(r["state"], r["unit_code"]) for r in resolved] == [("mapped", "SYT")] * 2
    assert all(r["resolution"].startswith("applied to 1 deliveries") for r in resolved)
    assert resolved[0]["resolved_by"] == "quan-tri"

    syt = (await api.client.get("/v1/orgs/SYT", headers=actors.clerk)).json()
    assert (syt["organ_id"], syt["organ_id_development"]) == ("000.00.80.H13", False)
    recipients = (await api.client.get(f"/v1/directives/{doc['id']}/recipients", headers=actors.clerk)).json()
    assert next(i for i in recipients["items"] if i["unit_code"] == "SYT")["status"] == "03"
    # From now on the partner's packages apply directly; SYT's own token speaks for it too.
    syt_clerk = actors.tokens.headers("clerk-syt", ["clerk"], "SYT")
    direct = await api.client.post("/v1/edxml/status", content=_status("05", 9), headers=_xml(syt_clerk))
    assert direct.status_code == 200
    assert direct.json()["deliveries"][0]["status"] == "05"
    again_map = await api.client.post(
        f"/v1/edxml/quarantine/{quarantine_id}/map", json={"unit_code": "SYT"}, headers=_admin(actors)
    )
    assert again_map.status_code == 409
    assert (await api.client.get("/v1/edxml/quarantine", headers=_admin(actors))).json() == []


async def test_a_reply_from_an_unknown_organ_id_is_quarantined_and_can_be_rejected(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    doc = await _dispatched(api, actors, letter)
    exported = parse_document_package(
        (await api.client.get(f"/v1/directives/{doc['id']}/edxml", headers=actors.clerk)).content
    )
    header = exported.header.model_copy(
        update={
            "sender": PARTNER,
            "recipients": (exported.header.sender,),
            "subject": "Báo cáo kết quả",
            "document_id": "000.00.80.H13,2026/12/01,15/BC-SYT",
            "response_for": (OURS,),
        }
    )
    reply = build_document_package(make_document_package(header))
    events = await _count(app, "SELECT count(*) FROM outbox_events")
    response = await api.client.post("/v1/edxml/inbox", content=reply, headers=_xml(_gateway(actors)))
    assert response.status_code == 202, response.text
    assert response.json()["links"] == []
    quarantine_id = response.json()["quarantine_id"]
    assert await _count(app, "SELECT count(*) FROM outbox_events") == events

    empty = await api.client.post(
        f"/v1/edxml/quarantine/{quarantine_id}/reject", json={"reason": ""}, headers=_admin(actors)
    )
    assert empty.status_code == 422
    rejected = await api.client.post(
        f"/v1/edxml/quarantine/{quarantine_id}/reject",
        json={"reason": "Không phải đơn vị liên thông của thành phố."},
        headers=_admin(actors),
    )
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["state"], rejected.json()["resolution"]) == (
        "rejected",
        "Không phải đơn vị liên thông của thành phố.",
    )
    listed = await api.client.get("/v1/edxml/quarantine", params={"state": "rejected"}, headers=_admin(actors))
    assert [r["id"] for r in listed.json()] == [quarantine_id]
    missing = await api.client.post("/v1/edxml/quarantine/999999/reject", json={"reason": "x"}, headers=_admin(actors))
    assert missing.status_code == 404
    # Rejected: no unit got the identifier, nothing was linked.
    assert await _count(app, "SELECT count(*) FROM units WHERE organ_id = '000.00.80.H13'") == 0
    assert await _count(app, "SELECT count(*) FROM outbox_events") == events
