"""The Office's bulk follow-up: reminders to many units in one call, review decisions in one call, the unit list."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI
from report_testing import VALID_REPORT, Api
from sqlalchemy import func, select

from report_api.reminders.models import Reminder

UNITS = ("P31120", "SNV", "X31299")


async def _setup(api: Api) -> tuple[dict[str, Any], dict[str, str]]:
    """X31299 acknowledged, SNV assigned (both silent), P31120 reported (waiting for review)."""
    directive = await api.dispatch()
    ids = {u: (await api.obligation_of(u, directive["id"]))["id"] for u in UNITS}
    await api.acknowledge(ids["X31299"], "X31299")
    await api.acknowledge(ids["P31120"], "P31120")
    await api.submit(ids["P31120"], "P31120", VALID_REPORT)
    return directive, ids


async def _reminders(app: FastAPI) -> int:
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Reminder)) or 0)


async def test_bulk_reminders_reach_the_filtered_units_once_per_key(api: Api, app: FastAPI) -> None:
    directive, ids = await _setup(api)
    url = f"/v1/directives/{directive['id']}/reminders"
    body = {"kind": "nhac_nho", "filter": "silent", "content": "Đề nghị báo cáo trước ngày 11/12/2026."}
    headers = {**api.actors.monitor, "Idempotency-Key": "nhac-silent-1"}
    first = await api.client.post(url, json=body, headers=headers)
    assert first.status_code == 200, first.text
    result = first.json()
    assert result["count"] == 2 and len(result["ids"]) == 2 and result["skipped_units"] == []
    assert {(i["unit_code"], i["sequence"]) for i in result["items"]} == {("SNV", 1), ("X31299", 1)}

    # the same key and body: the first answer again, nothing sent twice
    again = await api.client.post(url, json=body, headers=headers)
    assert again.status_code == 200 and again.json() == result and again.headers["Idempotent-Replayed"] == "true"
    assert await _reminders(app) == 2
    # the same key with another body is refused and sends nothing
    other = await api.client.post(url, json={**body, "content": "Khác"}, headers=headers)
    assert other.status_code == 422 and other.headers["content-type"] == "application/problem+json"
    assert await _reminders(app) == 2

    # among named units only; a Kiểm điểm is escalated to the supervising body
    only = await api.ok(
        "POST",
        url,
        api.actors.monitor,
        {"kind": "kiem_diem", "filter": "silent", "units": ["SNV", "P31120", "KHONG-CO"], "content": "Kiểm điểm"},
    )
    assert only["count"] == 1 and only["skipped_units"] == ["KHONG-CO", "P31120"]
    snv = (await api.get(ids["SNV"], api.actors.monitor)).json()
    assert snv["reminder_counts"] == {"nhac_nho": 1, "phe_binh": 0, "kiem_diem": 1}
    assert [r["escalated_to"] for r in snv["reminders"] if r["kind"] == "kiem_diem"] == ["UBND-TP"]

    # overdue: nobody before the deadline, the two silent units after it
    overdue = {"kind": "phe_binh", "filter": "overdue", "content": "Quá hạn"}
    assert (await api.ok("POST", url, api.actors.monitor, overdue))["count"] == 0
    api.clock.set_local(date(2026, 12, 14))
    assert (await api.ok("POST", url, api.actors.monitor, overdue))["count"] == 2

    # returned: only the unit whose report was returned
    await api.review(ids["P31120"], "return", "Thiếu minh chứng")
    returned = await api.ok("POST", url, api.actors.monitor, {"filter": "returned", "content": "Bổ sung"})
    assert [i["unit_code"] for i in returned["items"]] == ["P31120"]


async def test_bulk_reminders_are_for_the_office_and_checked(api: Api, app: FastAPI) -> None:
    directive, _ = await _setup(api)
    url = f"/v1/directives/{directive['id']}/reminders"
    body = {"filter": "silent", "content": "Nhắc"}
    for headers in (api.actors.foreign_monitor, api.actors.unit_officer("SNV"), api.actors.integration):
        assert (await api.client.post(url, json=body, headers=headers)).status_code == 403
    unknown = await api.client.post("/v1/directives/khong-co/reminders", json=body, headers=api.actors.monitor)
    assert unknown.status_code == 404
    for bad in ({"filter": "all", "content": "x"}, {"filter": "silent", "content": ""}, {**body, "extra": 1}):
        response = await api.client.post(url, json=bad, headers=api.actors.monitor)
        assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert await _reminders(app) == 0


async def test_bulk_review_is_all_or_nothing(api: Api, app: FastAPI) -> None:
    directive, ids = await _setup(api)
    await api.submit(ids["X31299"], "X31299", VALID_REPORT)
    url = f"/v1/directives/{directive['id']}/reviews"
    mixed = await api.client.post(
        url,
        json={"decision": "accept", "obligation_ids": [ids["P31120"], ids["X31299"], ids["SNV"]]},
        headers=api.actors.monitor,
    )
    assert mixed.status_code == 409, mixed.text
    assert mixed.json()["not_submitted"] == [{"obligation_id": ids["SNV"], "unit_code": "SNV", "status": "assigned"}]
    for unit in ("P31120", "X31299"):
        assert (await api.get(ids[unit], api.actors.monitor)).json()["status"] == "submitted"
    no_comment = await api.client.post(
        url, json={"decision": "return", "obligation_ids": [ids["P31120"]]}, headers=api.actors.monitor
    )
    assert no_comment.status_code == 422
    by_unit = await api.client.post(
        url, json={"decision": "accept", "obligation_ids": [ids["P31120"]]}, headers=api.actors.unit_officer("P31120")
    )
    assert by_unit.status_code == 403

    done = await api.ok(
        "POST", url, api.actors.monitor, {"decision": "accept", "obligation_ids": [ids["P31120"], ids["X31299"]]}
    )
    assert done["count"] == 2 and done["status"] == "accepted"
    summary = await api.compliance(directive["id"])
    assert {s["status"]: s["count"] for s in summary["by_status"]}["accepted"] == 2
    await api.sequence_events()
    events = (await api.ok("GET", "/v1/events?limit=100", api.actors.integration))["items"]
    assert sorted(e["data"]["unit_code"] for e in events if e["type"] == "obligation.accepted") == ["P31120", "X31299"]


async def test_office_list_filters_and_keyset_pages(api: Api) -> None:
    directive, _ = await _setup(api)
    url = f"/v1/directives/{directive['id']}/obligations"
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = await api.ok("GET", f"{url}?{'&'.join(f'{k}={v}' for k, v in params.items())}", api.actors.monitor)
        seen += [i["unit_code"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(UNITS)

    async def units(query: str) -> list[str]:
        return [i["unit_code"] for i in (await api.ok("GET", f"{url}?{query}", api.actors.monitor))["items"]]

    assert await units("status=submitted") == ["P31120"]
    assert await units("status=assigned&status=acknowledged") == ["SNV", "X31299"]
    assert await units("filter=silent&group=commune_level") == ["X31299"]
    assert await units("overdue=true") == []
    assert await units("unit=SNV&unit=P31120") == ["P31120", "SNV"]
    api.clock.set_local(date(2026, 12, 14))
    row = (await api.ok("GET", f"{url}?overdue=true&unit=SNV", api.actors.monitor))["items"][0]
    assert row["overdue"] is True and row["working_days_overdue"] == 1 and row["status_label"]
    assert (await api.client.get(f"{url}?cursor=n%C3%B4t!", headers=api.actors.monitor)).status_code == 422
    assert (await api.client.get(url, headers=api.actors.unit_officer("SNV"))).status_code == 403
