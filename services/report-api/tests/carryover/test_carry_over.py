"""A replacement or a đính chính keeps each unit's progress (acknowledgement, reports, extensions, reminders)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from report_testing import (
    PNG_BYTES,
    VALID_REPORT,
    Api,
    directive_payload,
    dispatched,
    event,
    seed_compliance,
    small_addressees,
)
from sqlalchemy import func, select

from report_api.reminders.models import Timer
from report_api.submissions.models import Evidence, Submission

OLD = "01/VPUB-TTĐH"
NEW = "03/VPUB-TTĐH"


async def _progress_on(api: Api, old: dict[str, Any]) -> dict[str, str]:
    """X31299 acknowledged; P31120 accepted report with evidence; SNV extension approved, pending report, reminded."""
    ids = {u: (await api.obligation_of(u, old["id"]))["id"] for u in ("X31299", "P31120", "SNV")}
    await api.acknowledge(ids["X31299"], "X31299")

    await api.acknowledge(ids["P31120"], "P31120")
    upload = await api.client.post(
        f"/v1/obligations/{ids['P31120']}/evidence",
        files={"file": ("anh.png", PNG_BYTES, "image/png")},
        headers=api.actors.unit_officer("P31120"),
    )
    assert upload.status_code == 201, upload.text
    await api.submit(ids["P31120"], "P31120", {**VALID_REPORT, "evidence": [upload.json()["id"]]})
    await api.review(ids["P31120"], "accept", "Đạt")

    snv = api.actors.unit_officer("SNV")
    await api.acknowledge(ids["SNV"], "SNV")
    url = f"/v1/obligations/{ids['SNV']}/extension-requests"
    req = await api.ok("POST", url, snv, {"requested_due_on": "2026-12-30", "reason": "Chờ số liệu"}, 201)
    await api.ok("POST", f"{url}/{req['id']}/decision", api.actors.monitor, {"decision": "approve"})
    await api.ok(
        "POST", f"/v1/obligations/{ids['SNV']}/reminders", api.actors.monitor, {"content": "Đề nghị khẩn trương"}, 201
    )
    await api.submit(ids["SNV"], "SNV", VALID_REPORT)
    return ids


def _actions(detail: dict[str, Any]) -> list[str]:
    return [h["action"] for h in detail["history"]]


async def _check_carried(api: Api, app: FastAPI, old: dict[str, Any], new: dict[str, Any], ids: dict[str, str]) -> None:
    office = api.actors.monitor
    # acknowledged unit
    ack = await api.obligation_of("X31299", new["id"])
    ack_detail = (await api.get(ack["id"], office)).json()
    assert ack["status"] == "acknowledged" and ack["acknowledged_at"] is not None
    assert ack_detail["carried_from_id"] == ids["X31299"]
    assert _actions(ack_detail)[-1] == "carry_over" and OLD in ack_detail["history"][-1]["comment"]

    # accepted report, with its evidence copied to the new obligation and cited by the copy
    acc = (await api.get((await api.obligation_of("P31120", new["id"]))["id"], office)).json()
    assert acc["status"] == "accepted" and acc["accepted_at"] is not None
    assert [s["review_status"] for s in acc["submissions"]] == ["accepted"]
    assert acc["submissions"][0]["review_comment"] == "Đạt"
    assert (
        [e["id"] for e in acc["evidence"]]
        == acc["submissions"][0]["evidence_ids"]
        == acc["submissions"][0]["data"]["evidence"]
    )
    download = await api.client.get(
        f"/v1/obligations/{acc['id']}/evidence/{acc['evidence'][0]['id']}", headers=api.actors.unit_officer("P31120")
    )
    assert download.status_code == 200 and download.content == PNG_BYTES
    async with app.state.sessionmaker() as session:
        pending_timers = await session.scalar(
            select(func.count())
            .select_from(Timer)
            .where(Timer.obligation_id == uuid.UUID(acc["id"]), Timer.cancelled_at.is_(None), Timer.fired_at.is_(None))
        )
    assert pending_timers == 0  # an accepted report is chased no more

    # pending report, approved extension, reminder counter
    snv = (await api.get((await api.obligation_of("SNV", new["id"]))["id"], office)).json()
    assert snv["status"] == "submitted" and "accept" in (await api.get(snv["id"], office)).json()["allowed_actions"]
    assert [s["review_status"] for s in snv["submissions"]] == ["pending"]
    assert snv["due_on"] == "2026-12-30" and snv["original_due_on"] == "2026-12-11"
    assert [x["status"] for x in snv["extension_requests"]] == ["approved"]
    assert snv["reminder_counts"] == {"nhac_nho": 1, "phe_binh": 0, "kiem_diem": 0}
    assert "hạn đã gia hạn 30/12/2026" in snv["history"][-1]["comment"]
    # the Office reviews the carried report on the new obligation
    accepted = await api.review(snv["id"], "accept")
    assert accepted["status"] == "accepted"

    # history on the old obligations too; the old document's reports stay where they were
    for unit, oid in ids.items():
        before = (await api.get(oid, api.actors.unit_officer(unit))).json()
        assert _actions(before)[-1] == "carried_over" and NEW in before["history"][-1]["comment"]
    assert (await api.obligation_of("P31120", old["id"]))["status"] == "accepted"
    assert (await api.obligation_of("SNV", old["id"]))["status"] == "superseded"
    summary = await api.compliance(new["id"])
    counts = {s["status"]: s["count"] for s in summary["by_status"]}
    assert counts["accepted"] == 2 and counts["acknowledged"] == 1 and summary["submitted"] == 2
    assert summary["totals"]["facebook_followers"] == 2 * VALID_REPORT["facebook_followers"]

    # directive-api hears the new obligations' state
    await api.sequence_events()
    events = (await api.ok("GET", "/v1/events?limit=500", api.actors.integration))["items"]
    carried = {(e["data"]["unit_code"], e["type"]) for e in events if "carried_from_obligation_id" in e["data"]}
    assert carried == {
        ("X31299", "obligation.acknowledged"),
        ("P31120", "obligation.accepted"),
        ("SNV", "obligation.submitted"),
    }


async def test_replacement_after_the_new_dispatch_carries_everything(api: Api, app: FastAPI) -> None:
    old = await api.dispatch(notation=OLD)
    ids = await _progress_on(api, old)
    new = await api.dispatch(notation=NEW)
    assert (await api.obligation_of("SNV", new["id"]))["status"] == "assigned"
    replaced = event("directive.replaced", {"directive": old, "replaced_by": new})
    assert (await api.deliver(replaced)).json()["status"] == "applied"
    await _check_carried(api, app, old, new, ids)
    # nothing is carried twice: a repeated announcement (new event id) changes nothing
    again = event("directive.replaced", {"directive": old, "replaced_by": new})
    assert (await api.deliver(again)).json()["status"] == "applied"
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Submission)) == 4


async def test_replacement_announced_before_the_new_dispatch_carries_when_it_arrives(api: Api, app: FastAPI) -> None:
    old = await api.dispatch(notation=OLD)
    ids = await _progress_on(api, old)
    new = directive_payload(notation=NEW)
    await api.deliver(event("directive.replaced", {"directive": old, "replaced_by": new}))
    assert (await api.obligation_of("SNV", old["id"]))["status"] == "superseded"
    await api.deliver(dispatched(new, small_addressees()))
    await _check_carried(api, app, old, new, ids)


async def test_a_changed_template_asks_for_a_new_report_but_keeps_the_link(api: Api, app: FastAPI) -> None:
    old = await api.dispatch(notation=OLD)
    ids = await _progress_on(api, old)
    compliance = seed_compliance()
    compliance["report_fields"] = [
        *compliance["report_fields"],
        {"key": "groups_joined", "label": "Số nhóm Zalo đã tham gia", "type": "non_negative_integer", "required": True},
    ]
    new = await api.dispatch(notation=NEW, compliance=compliance)
    await api.deliver(event("directive.replaced", {"directive": old, "replaced_by": new}))
    for unit in ("X31299", "P31120", "SNV"):
        ob = (await api.get((await api.obligation_of(unit, new["id"]))["id"], api.actors.monitor)).json()
        assert ob["status"] == "acknowledged" and ob["submissions"] == [] and ob["carried_from_id"] == ids[unit]
        assert ob["due_on"] == ob["original_due_on"] == "2026-12-11"  # the new request's deadline
    snv = (await api.get((await api.obligation_of("SNV", new["id"]))["id"], api.actors.monitor)).json()
    assert "mẫu báo cáo thay đổi" in snv["history"][-1]["comment"]
    assert snv["reminder_counts"]["nhac_nho"] == 1
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Evidence)) == 1


async def test_a_correction_notes_or_moves_the_obligations(api: Api) -> None:
    original = await api.dispatch(notation=OLD)
    ids = await _progress_on(api, original)
    typo = directive_payload(notation="02/VPUB-TTĐH", compliance={})
    typo["compliance"] = None
    await api.deliver(event("directive.corrected", {"directive": original, "correction": typo}))
    snv = (await api.get(ids["SNV"], api.actors.monitor)).json()
    assert snv["status"] == "submitted" and snv["history"][-1]["action"] == "corrected"
    assert "đính chính bởi 02/VPUB-TTĐH" in snv["history"][-1]["comment"]

    restated = directive_payload(notation="04/VPUB-TTĐH")
    await api.deliver(event("directive.corrected", {"directive": original, "correction": restated}))
    await api.deliver(dispatched(restated, small_addressees()))
    moved = await api.obligation_of("SNV", restated["id"])
    assert moved["status"] == "submitted" and moved["due_on"] == "2026-12-30"
    assert (await api.obligation_of("SNV", original["id"]))["status"] == "superseded"
    assert (await api.obligation_of("P31120", restated["id"]))["status"] == "accepted"
