"""edXML exchange through the API: export parses back, every status sample applies, attacks refused."""

from __future__ import annotations

import hashlib
from pathlib import Path
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
    parse_document_package,
    parse_status_package,
)

SAMPLES = Path(__file__).resolve().parents[3] / "libs/common/tests/edxml/samples"
STATUS_SAMPLES = sorted(p for p in SAMPLES.glob("status_*.edxml"))


async def _dispatched(api: Api, actors: Actors, letter: dict[str, Any]) -> dict[str, Any]:
    issued = await api.advance(await api.approved(letter), "issue", actors.clerk)
    return await api.advance(issued, "dispatch", actors.clerk)


def _xml(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "application/xml"}


async def test_export_parses_back_with_the_same_values(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await _dispatched(api, actors, letter)
    response = await api.client.get(f"/v1/directives/{doc['id']}/edxml", headers=actors.clerk)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    package = parse_document_package(response.content)
    header = package.header
    assert header.sender.organ_id == "000.00.01.H13"
    assert header.document_id == "000.00.01.H13,2026/11/27,01/VPUB-TTĐH"
    assert header.code is not None
    assert (header.code.code_number, header.code.code_notation) == ("01", "VPUB-TTĐH")
    assert header.subject == "V/v " + letter["subject"]
    assert header.signer_info is not None
    assert header.signer_info.full_name == "Lê Xuân Hoa"
    assert header.signer_info.position == "PHÓ CHÁNH VĂN PHÒNG"
    assert len(header.recipients) == 130
    assert header.due_date is not None
    assert header.due_date.isoformat() == "2026-12-11"  # 10 working days after Friday 27 November 2026
    attachment = package.attachments[0]
    assert attachment.content_type == "application/pdf"
    pdf = await api.client.get(f"/v1/directives/{doc['id']}/pdf", headers=actors.clerk)
    assert attachment.content == pdf.content
    rebuilt = parse_document_package(build_document_package(package))
    assert rebuilt.header == package.header
    draft = await api.create(letter)
    assert (await api.client.get(f"/v1/directives/{draft['id']}/edxml", headers=actors.clerk)).status_code == 409


@pytest.mark.parametrize("sample", STATUS_SAMPLES, ids=lambda p: p.stem)
async def test_each_status_sample_moves_the_matching_delivery(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI, sample: Path
) -> None:
    original = parse_status_package(sample.read_bytes())
    doc = await _dispatched(api, actors, letter)
    # The sample's sender becomes one of our recipients: give Sở Nội vụ its identifier.
    async with app.state.engine.begin() as connection:
        await connection.execute(
            text("UPDATE units SET organ_id = :organ WHERE code = 'SNV'"), {"organ": original.sender.organ_id}
        )
    ours = ResponseFor(
        organ_id="000.00.01.H13", code="01/VPUB-TTĐH", document_id="000.00.01.H13,2026/11/27,01/VPUB-TTĐH"
    )
    package = original.model_copy(update={"response_for": (ours,)})
    snv_clerk = actors.tokens.headers("clerk-snv", ["clerk"], "SNV")  # the sender speaks for itself
    response = await api.client.post("/v1/edxml/status", content=build_status_package(package), headers=_xml(snv_clerk))
    assert response.status_code == 200, response.text
    assert response.json()["deliveries"] == [
        {"directive_id": doc["id"], "unit_code": "SNV", "status": original.status_code, "outcome": "applied"}
    ]
    recipients = (await api.client.get(f"/v1/directives/{doc['id']}/recipients", headers=actors.clerk)).json()
    snv = next(i for i in recipients["items"] if i["unit_code"] == "SNV")
    assert snv["status"] == original.status_code
    assert snv["status_reason"] == original.description


async def test_a_status_package_is_kept_in_its_row_not_in_the_file_store(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    original = parse_status_package((SAMPLES / "status_finish_06.edxml").read_bytes())
    await _dispatched(api, actors, letter)
    async with app.state.engine.begin() as connection:
        await connection.execute(
            text("UPDATE units SET organ_id = :organ WHERE code = 'SNV'"), {"organ": original.sender.organ_id}
        )
    ours = ResponseFor(
        organ_id="000.00.01.H13", code="01/VPUB-TTĐH", document_id="000.00.01.H13,2026/11/27,01/VPUB-TTĐH"
    )
    raw = build_status_package(original.model_copy(update={"response_for": (ours,)}))
    snv_clerk = actors.tokens.headers("clerk-snv", ["clerk"], "SNV")
    response = await api.client.post("/v1/edxml/status", content=raw, headers=_xml(snv_clerk))
    assert response.status_code == 200, response.text
    async with app.state.engine.connect() as connection:
        row = (
            await connection.execute(text("SELECT sha256, size, raw FROM exchange_packages WHERE kind = 'status'"))
        ).one()
    assert (row.sha256, row.size, bytes(row.raw)) == (hashlib.sha256(raw).hexdigest(), len(raw), raw)
    with pytest.raises(FileNotFoundError):
        app.state.pdf.store.get(row.sha256)


async def _packages(app: FastAPI) -> tuple[int, int]:
    async with app.state.engine.connect() as connection:
        received = (await connection.execute(text("SELECT count(*) FROM exchange_packages"))).scalar_one()
        quarantined = (await connection.execute(text("SELECT count(*) FROM quarantined_packages"))).scalar_one()
    return int(received), int(quarantined)


async def test_status_for_unknown_document_is_refused(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    await _dispatched(api, actors, letter)
    raw = (SAMPLES / "status_acceptance_03.edxml").read_bytes()
    # A known sender (else the package is quarantined), but its ResponseFor is not a document of ours.
    async with app.state.engine.begin() as connection:
        await connection.execute(
            text("UPDATE units SET organ_id = :organ WHERE code = 'SNV'"),
            {"organ": parse_status_package(raw).sender.organ_id},
        )
    snv_clerk = actors.tokens.headers("clerk-snv", ["clerk"], "SNV")  # the sender speaks for itself
    before = await _packages(app)
    response = await api.client.post("/v1/edxml/status", content=raw, headers=_xml(snv_clerk))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "The package refers to no document of ours"
    assert await _packages(app) == before


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><StatusCode>&lol3;</StatusCode></edXML>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><Description>&xxe;</Description></edXML>"""


@pytest.mark.parametrize(("name", "payload"), [("bomb", BOMB), ("xxe", XXE), ("not xml", b"\x00\x01 nope")])
@pytest.mark.parametrize("endpoint", ["/v1/edxml/status", "/v1/edxml/inbox"])
async def test_hostile_packages_are_refused_and_change_nothing(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI, name: str, payload: bytes, endpoint: str
) -> None:
    await _dispatched(api, actors, letter)

    async def counts() -> tuple[int, ...]:
        found = []
        async with app.state.engine.connect() as connection:
            for table in ("exchange_packages", "delivery_status_log", "outbox_events"):
                found.append((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())  # noqa: S608
        return tuple(found)

    before = await counts()
    response = await api.client.post(endpoint, content=payload, headers=_xml(actors.clerk))
    assert response.status_code == 422, (name, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    assert b"root:" not in response.content
    assert await counts() == before


async def test_reply_document_links_to_the_delivery(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    doc = await _dispatched(api, actors, letter)
    async with app.state.engine.begin() as connection:
        await connection.execute(text("UPDATE units SET organ_id = '000.31.99.H13' WHERE code = 'X31299'"))
    exported = parse_document_package(
        (await api.client.get(f"/v1/directives/{doc['id']}/edxml", headers=actors.clerk)).content
    )
    header = exported.header.model_copy(
        update={
            "sender": Organization(organ_id="000.31.99.H13", organ_name="UBND xã Phong Điền"),
            "recipients": (exported.header.sender,),
            "subject": "Báo cáo kết quả theo dõi, chia sẻ Kênh thông tin chính thức",
            "document_id": "000.31.99.H13,2026/12/01,15/BC-UBND",
            "response_for": (
                ResponseFor(
                    organ_id="000.00.01.H13",
                    code="01/VPUB-TTĐH",
                    promulgation_date=exported.header.promulgation_info.promulgation_date
                    if exported.header.promulgation_info
                    else None,
                ),
            ),
        }
    )
    reply = build_document_package(make_document_package(header))
    x31299_clerk = actors.tokens.headers("clerk-x31299", ["clerk"], "X31299")  # the sender speaks for itself
    response = await api.client.post("/v1/edxml/inbox", content=reply, headers=_xml(x31299_clerk))
    assert response.status_code == 202, response.text
    assert response.json()["links"] == [{"directive_id": doc["id"], "unit_code": "X31299", "outcome": "applied"}]
    forbidden = await api.client.post("/v1/edxml/inbox", content=reply, headers=_xml(actors.drafter))
    assert forbidden.status_code == 403
