"""Bad input gets a clear 422 problem and writes nothing."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from directive_testing import Actors, Api


def _in_days(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def _variants(letter: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    def changed(**updates: Any) -> dict[str, Any]:
        body = copy.deepcopy(letter)
        body.update(updates)
        return body

    unknown_unit = copy.deepcopy(letter)
    unknown_unit["addressees"].append({"unit": "KHONG-CO"})
    unknown_info = copy.deepcopy(letter)
    unknown_info["info_recipients"].append({"units": ["KHONG-CO"]})
    return [
        ("unknown unit", unknown_unit),
        ("unknown information recipient", unknown_info),
        ("unknown group", changed(addressees=[{"group": "all_planets"}])),
        ("information group is not addressable", changed(addressees=[{"group": "information"}])),
        ("empty subject", changed(subject="   ")),
        ("oversized subject", changed(subject="a" * 501)),
        ("subject of wrong type", changed(subject=42)),
        ("body of wrong type", changed(body="văn bản")),
        ("empty body", changed(body=[])),
        ("unknown block kind", changed(body=[{"kind": "script", "text": "x"}])),
        ("qr without a valid url", changed(body=[{"kind": "qr", "label": "x", "url": "javascript:alert(1)"}])),
        ("unknown signer", changed(signer_id="ai-do")),
        ("signer without the signer role", changed(signer_id="tran-van-an")),
        ("server-owned status", changed(status="issued")),
        ("server-owned number", changed(number=7)),
        ("server-owned notation", changed(notation="01/VPUB-TTĐH")),
        ("server-owned version", changed(version=9)),
        ("unknown document type", changed(doc_type="XX")),
        ("bad drafting unit", changed(drafting_unit="ttđh; drop table")),
        ("control characters", changed(subject="V/v \x00 test")),
        ("addressee with both group and unit", changed(addressees=[{"group": "department", "unit": "SNV"}])),
        ("bad urgency", changed(urgency="GẤP")),
        ("compliance without deadline", changed(compliance={"report_fields": []})),
        ("zero-width subject", changed(subject="\u200b\u200c\u200d\ufeff")),
        ("zero-width and blank subject", changed(subject="\u2060 \u200b\u00a0\u180e")),
        ("due date at the end of the calendar", changed(compliance={"due_date": "9999-12-31"})),
        ("due date at the start of the calendar", changed(compliance={"due_date": "0001-01-01"})),
        ("due date beyond five years", changed(compliance={"due_date": _in_days(5 * 366)})),
        ("due date today", changed(compliance={"due_date": _in_days(0)})),
    ]


@pytest.mark.parametrize("case", range(29))
async def test_bad_create_is_refused_and_writes_nothing(
    api: Api, actors: Actors, letter: dict[str, Any], case: int
) -> None:
    name, body = _variants(letter)[case]
    response = await api.client.post("/v1/directives", json=body, headers=actors.drafter)
    assert response.status_code == 422, (name, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert problem.get("errors"), name
    listing = await api.client.get("/v1/directives", headers=actors.drafter)
    assert listing.json()["items"] == [], name


def test_variants_are_all_covered(letter: dict[str, Any]) -> None:
    assert len(_variants(letter)) == 29


async def test_malformed_json_is_a_problem(api: Api, actors: Actors) -> None:
    response = await api.client.post(
        "/v1/directives", content=b"{not json", headers={**actors.drafter, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_bad_patch_changes_nothing(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.create(letter)
    url = f"/v1/directives/{doc['id']}"
    for body in (
        {"status": "approved"},
        {"subject": ""},
        {"subject": "\u200b\u2063"},
        {"addressees": [{"unit": "KHONG-CO"}]},
        {"subject": None},
        {"compliance": {"due_date": "9999-12-31"}},
    ):
        response = await api.client.patch(url, json=body, headers={**actors.drafter, "If-Match": doc["etag"]})
        assert response.status_code == 422, (body, response.text)
    after = (await api.get(doc["id"], actors.drafter)).json()
    assert after["version"] == 1
    assert after["subject"] == doc["subject"]
    assert [h["action"] for h in await api.history(doc["id"])] == ["create"]


async def test_not_a_uuid_is_422(api: Api, actors: Actors) -> None:
    response = await api.client.get("/v1/directives/not-a-uuid", headers=actors.drafter)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_due_date_that_has_passed_by_issue_is_refused_at_issue(
    api: Api, actors: Actors, letter: dict[str, Any], clock: Any
) -> None:
    body = copy.deepcopy(letter)
    body["compliance"] = {**body["compliance"], "deadline_working_days": None, "due_date": _in_days(20)}
    doc = await api.approved(body)
    clock.now = datetime.now(UTC) + timedelta(days=25)
    response = await api.act(doc, "issue", actors.clerk)
    assert response.status_code == 422, response.text
    assert "due date" in response.json()["detail"]
    after = (await api.get(doc["id"], actors.clerk)).json()
    assert (after["status"], after["version"], after["number"]) == ("approved", doc["version"], None)
    clock.now = datetime.now(UTC)
    assert (await api.act(doc, "issue", actors.clerk)).status_code == 200
