"""A ResponseFor names our document by its issuer's organ id as well as its number and date: two issuers
of ours may both have a 01/… of the same day, and a partner's status goes to the one it names."""

from __future__ import annotations

from datetime import date
from typing import Any

from directive_testing import Actors, Api
from fastapi import FastAPI
from sqlalchemy import text

from common.edxml import Organization, ResponseFor, build_status_package, make_document_id, make_status_package

SNV = Organization(organ_id="000.00.02.H13", organ_name="Sở Nội vụ")
OFFICE_ORGAN, CITY_ORGAN = "000.00.01.H13", "000.00.00.H13"


def _status(organ_id: str, issued: date, code: str) -> bytes:
    document_id = make_document_id(organ_id, issued, "01", "VPUB-TTĐH")
    reference = ResponseFor(organ_id=organ_id, code="01/VPUB-TTĐH", promulgation_date=issued, document_id=document_id)
    return build_status_package(make_status_package(sender=SNV, document=reference, status_code=code))


async def test_a_status_goes_to_the_document_of_the_issuer_it_names(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    docs = []
    for _ in range(2):
        issued = await api.advance(await api.approved(letter), "issue", actors.clerk)
        docs.append(await api.advance(issued, "dispatch", actors.clerk))
    first, second = docs
    assert first["notation"] == "01/VPUB-TTĐH" and first["issued_on"] == second["issued_on"]
    # The second becomes the city People's Committee's own 01/VPUB-TTĐH of the same day.
    async with app.state.engine.begin() as connection:
        await connection.execute(
            text("UPDATE directives SET notation = '01/VPUB-TTĐH', issuer_code = 'UBND-TP' WHERE id = :id"),
            {"id": second["id"].replace("-", "") if app.state.engine.dialect.name == "sqlite" else second["id"]},
        )
    day = date.fromisoformat(first["issued_on"])
    headers = {**actors.tokens.headers("clerk-snv", ["clerk"], "SNV"), "Content-Type": "application/xml"}

    for organ, code, expected in ((CITY_ORGAN, "03", second), (OFFICE_ORGAN, "05", first)):
        response = await api.client.post("/v1/edxml/status", content=_status(organ, day, code), headers=headers)
        assert response.status_code == 200, response.text
        (applied,) = response.json()["deliveries"]
        assert (applied["directive_id"], applied["status"], applied["outcome"]) == (expected["id"], code, "applied")

    # An organ id that issued no such document: no document of ours.
    unknown = await api.client.post("/v1/edxml/status", content=_status("000.00.77.H13", day, "06"), headers=headers)
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == "application/problem+json"
