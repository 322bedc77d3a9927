"""The seed letter: 122 addressee units, 100 on time, 10 late, 12 silent; totals match, also in XLSX."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from report_testing import Api, seed_addressees, seed_compliance
from sqlalchemy import select

from report_api.obligations.models import Obligation


@pytest.mark.slow
async def test_seed_letter_compliance_summary_and_xlsx(api: Api, app: FastAPI) -> None:
    addressees = seed_addressees()
    groups = {a["group_code"] for a in addressees}
    assert len(addressees) == 122 and groups == {"department", "socio_political_org", "commune_level"}
    assert seed_compliance()["deadline_working_days"] == 10
    api.clock.set_local(date(2026, 11, 27), hour=9)
    directive = await api.dispatch(addressees, issued_on=date(2026, 11, 27))
    page = await api.ok("GET", "/v1/me/obligations", api.actors.unit_officer(addressees[0]["unit_code"]))
    assert page["items"][0]["due_on"] == "2026-12-11"

    async with app.state.sessionmaker() as session:
        rows = (await session.execute(select(Obligation.unit_code, Obligation.id))).all()
    obligations = {unit: str(oid) for unit, oid in rows}
    assert set(obligations) == {a["unit_code"] for a in addressees}
    expected = {"facebook_followers": 0, "zalo_followers": 0, "posts_shared": 0, "website_links_portal": 0}
    reports: dict[str, dict[str, Any]] = {}
    for i, a in enumerate(addressees[:110]):
        reports[a["unit_code"]] = {
            "facebook_followers": 20 + (i * 7) % 180,
            "zalo_followers": 10 + (i * 11) % 150,
            "posts_shared": i % 13,
            "website_links_portal": i % 3 != 0,
            "notes": f"Đơn vị thứ {i + 1} đã triển khai.",
        }
    api.clock.set_local(date(2026, 12, 3), hour=10)
    for unit in list(reports)[:100]:
        await api.acknowledge(obligations[unit], unit)
        await api.submit(obligations[unit], unit, reports[unit])
    api.clock.set_local(date(2026, 12, 16), hour=10)  # after the deadline of 11/12/2026
    for unit in list(reports)[100:]:
        await api.acknowledge(obligations[unit], unit)
        submitted = await api.submit(obligations[unit], unit, reports[unit])
        assert submitted["late"] is True
    for unit, report in reports.items():
        await api.review(obligations[unit], "accept")
        for key in expected:
            expected[key] += int(report[key])

    summary = await api.compliance(directive["id"])
    assert summary["total"] == 122
    counts = {s["status"]: s["count"] for s in summary["by_status"]}
    assert counts["accepted"] == 110 and counts["assigned"] == 12 and sum(counts.values()) == 122
    assert (summary["on_time"], summary["late"], summary["submitted"]) == (100, 10, 110)
    assert summary["on_time_rate"] == round(100 / 122, 4)
    assert summary["totals"] == expected
    assert summary["overdue"] == 12
    silent = {a["unit_code"] for a in addressees[110:]}
    assert {u["unit_code"] for u in summary["overdue_units"]} == silent
    assert all(u["working_days_overdue"] == 3 for u in summary["overdue_units"])
    by_group = {g["group_code"]: g for g in summary["groups"]}
    assert {k: g["total"] for k, g in by_group.items()} == {
        "commune_level": 103,
        "department": 13,
        "socio_political_org": 6,
    }
    assert sum(g["on_time"] for g in by_group.values()) == 100
    assert sum(g["overdue"] for g in by_group.values()) == 12

    response = await api.client.get(
        f"/v1/directives/{directive['id']}/compliance",
        headers={**api.actors.monitor, "Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Tổng hợp", "Đơn vị", "Quá hạn"]
    summary = {row[0]: row[1] for row in book["Tổng hợp"].iter_rows(min_row=6, values_only=True)}
    labels = {f["key"]: f["label"] for f in seed_compliance()["report_fields"]}
    assert {k: summary[f"Tổng (báo cáo đã duyệt): {labels[k]}"] for k in expected} == expected
    assert (
        summary["Trạng thái: Đã duyệt"],
        summary["Trạng thái: Đã giao, chưa tiếp nhận"],
        summary["Quá hạn, chưa báo cáo"],
        summary["Tổng số đơn vị phải báo cáo"],
    ) == (110, 12, 12, 122)
    units = list(book["Đơn vị"].iter_rows(min_row=5, values_only=True))
    header, rows = units[0], units[1:]
    assert len(rows) == 122
    column = header.index(labels["facebook_followers"])
    assert sum(r[column] or 0 for r in rows) == expected["facebook_followers"]
    assert len(list(book["Quá hạn"].iter_rows(min_row=6, values_only=True))) == 12
    same = await api.client.get(f"/v1/directives/{directive['id']}/compliance?format=xlsx", headers=api.actors.monitor)
    assert same.status_code == 200 and same.content[:2] == b"PK"
