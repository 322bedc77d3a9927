"""edXML packages speak only for the caller's own unit, or for the units a configured relay carries.

Before: ``POST /v1/edxml/status`` and ``/v1/edxml/inbox`` took the acting unit from the package's
``From/OrganId``: any clerk of any unit could set another unit's delivery to 02 (refused) or 06
(done), or attach a forged reply to its obligation.
"""

from __future__ import annotations

from typing import Any

import pytest
from directive_testing import Actors, Api
from fastapi import FastAPI
from sqlalchemy import text
from test_edxml_exchange import STATUS_SAMPLES, _dispatched, _xml

from common.edxml import (
    Organization,
    ResponseFor,
    build_document_package,
    build_status_package,
    make_document_package,
    parse_document_package,
    parse_status_package,
)

UNKNOWN_ORGAN = "000.31.99.H13"  # no unit of the directory has it


async def _state(app: FastAPI) -> tuple[Any, ...]:
    async with app.state.engine.connect() as connection:
        counts = [
            (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()  # noqa: S608
            for table in ("exchange_packages", "quarantined_packages", "delivery_status_log", "outbox_events")
        ]
        statuses = (await connection.execute(text("SELECT unit_code, status FROM deliveries ORDER BY unit_code"))).all()
    return (*counts, tuple(tuple(r) for r in statuses))


async def _organ_id(api: Api, actors: Actors, code: str) -> str:
    """The unit's exchange identifier as the directory gives it (a development one in the seed)."""
    response = await api.client.get(f"/v1/orgs/{code}", headers=actors.clerk)
    assert response.status_code == 200, response.text
    organ_id: str = response.json()["organ_id"]
    assert organ_id
    return organ_id


def _done_from(organ_id: str) -> bytes:
    """A status package 06 (done) from ``organ_id`` about our 01/VPUB-TTĐH."""
    [sample] = [p for p in STATUS_SAMPLES if p.stem.endswith("_06")]
    original = parse_status_package(sample.read_bytes())
    ours = ResponseFor(
        organ_id="000.00.01.H13", code="01/VPUB-TTĐH", document_id="000.00.01.H13,2026/11/27,01/VPUB-TTĐH"
    )
    sender = original.sender.model_copy(update={"organ_id": organ_id})
    return build_status_package(original.model_copy(update={"response_for": (ours,), "sender": sender}))


async def _reply_from(api: Api, actors: Actors, doc: dict[str, Any], organ_id: str) -> bytes:
    exported = parse_document_package(
        (await api.client.get(f"/v1/directives/{doc['id']}/edxml", headers=actors.clerk)).content
    )
    header = exported.header.model_copy(
        update={
            "sender": Organization(organ_id=organ_id, organ_name="UBND xã Phong Điền"),
            "recipients": (exported.header.sender,),
            "subject": "Báo cáo kết quả",
            "document_id": f"{organ_id},2026/12/01,15/BC-UBND",
            "response_for": (ResponseFor(organ_id="000.00.01.H13", code="01/VPUB-TTĐH"),),
        }
    )
    return build_document_package(make_document_package(header))


async def test_a_unit_posts_status_only_for_itself(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    await _dispatched(api, actors, letter)
    package = _done_from(await _organ_id(api, actors, "SNV"))
    before = await _state(app)
    strangers = {
        "the issuing office's clerk": actors.clerk,
        "another unit's clerk": actors.tokens.headers("clerk-x", ["clerk"], "X31299"),
        "another unit's admin": actors.tokens.headers("admin-x", ["admin"], "X31299"),
        "an integration without relays": actors.tokens.headers("eoffice-vpub", ["integration"], "VPUB"),
        "a unit-less integration": actors.tokens.headers("vxp-unknown", ["integration"], None),
    }
    for who, headers in strangers.items():
        response = await api.client.post("/v1/edxml/status", content=package, headers=_xml(headers))
        assert response.status_code == 403, (who, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert await _state(app) == before, who
    own = await api.client.post(
        "/v1/edxml/status", content=package, headers=_xml(actors.tokens.headers("clerk-snv", ["clerk"], "SNV"))
    )
    assert own.status_code == 200, own.text
    assert [d["unit_code"] for d in own.json()["deliveries"]] == ["SNV"]


@pytest.mark.parametrize("by", ["unit code", "organ id"])
async def test_a_configured_relay_posts_for_its_units_only(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI, by: str
) -> None:
    await _dispatched(api, actors, letter)
    snv_organ, x_organ = [await _organ_id(api, actors, code) for code in ("SNV", "X31299")]
    app.state.settings.exchange_relays = {"vxp-gateway": ["SNV"] if by == "unit code" else [snv_organ]}
    gateway = actors.tokens.headers("vxp-gateway", ["integration"], "VPUB")
    before = await _state(app)
    other = await api.client.post("/v1/edxml/status", content=_done_from(x_organ), headers=_xml(gateway))
    assert other.status_code == 403, other.text
    assert await _state(app) == before
    # the relay list belongs to the integration role: the same client id as a clerk relays nothing
    as_clerk = actors.tokens.headers("vxp-gateway", ["clerk"], "VPUB")
    refused = await api.client.post("/v1/edxml/status", content=_done_from(snv_organ), headers=_xml(as_clerk))
    assert refused.status_code == 403
    assert await _state(app) == before
    relayed_ok = await api.client.post("/v1/edxml/status", content=_done_from(snv_organ), headers=_xml(gateway))
    assert relayed_ok.status_code == 200, relayed_ok.text
    assert [d["unit_code"] for d in relayed_ok.json()["deliveries"]] == ["SNV"]


async def test_a_reply_is_linked_only_when_its_sender_posts_it(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    doc = await _dispatched(api, actors, letter)
    x_organ = await _organ_id(api, actors, "X31299")
    reply = await _reply_from(api, actors, doc, x_organ)
    before = await _state(app)
    for headers in (
        actors.clerk,
        actors.tokens.headers("admin-snv", ["admin"], "SNV"),
        actors.tokens.headers("eoffice-snv", ["integration"], "SNV"),
    ):
        forged = await api.client.post("/v1/edxml/inbox", content=reply, headers=_xml(headers))
        assert forged.status_code == 403, forged.text
        assert await _state(app) == before
    app.state.settings.exchange_relays = {"vxp-gateway": [x_organ]}
    gateway = actors.tokens.headers("vxp-gateway", ["integration"], "VPUB")
    linked = await api.client.post("/v1/edxml/inbox", content=reply, headers=_xml(gateway))
    assert linked.status_code == 202, linked.text
    assert linked.json()["links"] == [{"directive_id": doc["id"], "unit_code": "X31299", "outcome": "applied"}]


async def test_only_a_relay_posts_for_a_sender_the_directory_does_not_know(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    """An unknown organ id is quarantined, not applied; but only a relay for it may put it there."""
    await _dispatched(api, actors, letter)
    package = _done_from(UNKNOWN_ORGAN)
    app.state.settings.exchange_relays = {"vxp-snv": ["SNV"], "vxp-unknown": [UNKNOWN_ORGAN], "vxp-gateway": ["*"]}
    before = await _state(app)
    for who, headers in {
        "the issuing office's clerk": actors.clerk,
        "the issuing office's admin": actors.tokens.headers("admin-vpub", ["admin"], "VPUB"),
        "an integration without relays": actors.tokens.headers("eoffice-vpub", ["integration"], "VPUB"),
        "a relay for another sender": actors.tokens.headers("vxp-snv", ["integration"], "VPUB"),
        "a relay's client id as a clerk": actors.tokens.headers("vxp-gateway", ["clerk"], "VPUB"),
    }.items():
        response = await api.client.post("/v1/edxml/status", content=package, headers=_xml(headers))
        assert response.status_code == 403, (who, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert await _state(app) == before, who
    for relay in ("vxp-unknown", "vxp-gateway"):
        response = await api.client.post(
            "/v1/edxml/status", content=package, headers=_xml(actors.tokens.headers(relay, ["integration"], None))
        )
        assert response.status_code == 202, (relay, response.text)
        assert response.json()["deliveries"] == []
        assert response.json()["quarantine_id"] is not None
    assert (await _state(app))[1] == before[1] + 1  # the same bytes are kept once
