"""A unit acknowledges, reports, is returned, reports again, and the Office accepts; events and history follow."""

from __future__ import annotations

from datetime import date, timedelta

from report_testing import VALID_REPORT, Api


async def test_full_cycle_with_return_history_and_outbox(api: Api) -> None:
    directive = await api.dispatch()
    ob = await api.obligation_of("X31299", directive["id"])
    assert ob["status"] == "assigned"
    assert ob["due_on"] == "2026-12-11"  # 10 working days after Friday 27/11/2026
    assert ob["allowed_actions"] == ["acknowledge"]
    oid = ob["id"]

    detail = await api.acknowledge(oid, "X31299")
    assert detail["status"] == "acknowledged"
    first = await api.submit(oid, "X31299", VALID_REPORT)
    assert first["version"] == 1 and first["late"] is False and first["review_status"] == "pending"

    returned = await api.review(oid, "return", "Bổ sung minh chứng ảnh chụp màn hình.")
    assert returned["status"] == "returned"
    second = await api.submit(oid, "X31299", {**VALID_REPORT, "posts_shared": 20})
    assert second["version"] == 2
    accepted = await api.review(oid, "accept")
    assert accepted["status"] == "accepted"
    assert accepted["allowed_actions"] == []

    assert [h["action"] for h in accepted["history"]] == [
        "assign",
        "acknowledge",
        "submit",
        "return",
        "submit",
        "accept",
    ]
    assert [(s["version"], s["review_status"]) for s in accepted["submissions"]] == [(1, "returned"), (2, "accepted")]
    assert accepted["submissions"][0]["review_comment"] == "Bổ sung minh chứng ảnh chụp màn hình."
    assert accepted["report_schema"]["required"] == [
        "facebook_followers",
        "zalo_followers",
        "posts_shared",
        "website_links_portal",
    ]

    await api.sequence_events()
    feed = await api.ok("GET", "/v1/events?after=0&limit=50", api.actors.integration)
    types = [e["type"] for e in feed["items"]]
    assert types == [
        "obligation.acknowledged",
        "obligation.submitted",
        "obligation.returned",
        "obligation.submitted",
        "obligation.accepted",
    ]
    assert all(e["source"] == "report-api" and e["subject"] == oid for e in feed["items"])
    assert feed["items"][3]["data"]["submission_version"] == 2
    assert feed["items"][2]["data"]["comment"] == "Bổ sung minh chứng ảnh chụp màn hình."
    sequences = [e["sequence"] for e in feed["items"]]
    assert sequences == sorted(sequences)
    await api.sequence_events()
    rest = await api.ok("GET", f"/v1/events?after={sequences[2]}", api.actors.monitor)
    assert [e["sequence"] for e in rest["items"]] == sequences[3:]
    # a unit officer may not read the feed
    assert (await api.client.get("/v1/events", headers=api.actors.unit_officer("X31299"))).status_code == 403


async def test_late_flag_follows_the_injected_clock_and_deadline(api: Api) -> None:
    directive = await api.dispatch()
    ob = await api.obligation_of("SNV", directive["id"])
    await api.acknowledge(ob["id"], "SNV")
    api.clock.set_local(date(2026, 12, 14))  # Monday after the Friday deadline
    late = await api.submit(ob["id"], "SNV", VALID_REPORT)
    assert late["late"] is True
    await api.sequence_events()
    events = await api.ok("GET", "/v1/events", api.actors.integration)
    assert events["items"][-1]["data"]["late"] is True

    other = await api.obligation_of("P31120", directive["id"])
    assert other["overdue"] is True and other["working_days_overdue"] == 1
    await api.acknowledge(other["id"], "P31120")
    api.clock.set_local(date(2026, 12, 11), hour=16)  # on the deadline day itself: on time
    on_time = await api.submit(other["id"], "P31120", VALID_REPORT)
    assert on_time["late"] is False


async def test_wrong_state_and_stale_if_match_are_refused(api: Api) -> None:
    directive = await api.dispatch()
    ob = await api.obligation_of("X31299", directive["id"])
    officer = api.actors.unit_officer("X31299")
    early = await api.client.post(
        f"/v1/obligations/{ob['id']}/submissions", json={"data": VALID_REPORT}, headers=officer
    )
    assert early.status_code == 409
    assert early.headers["content-type"] == "application/problem+json"
    stale = await api.client.post(f"/v1/obligations/{ob['id']}/acknowledge", headers={**officer, "If-Match": '"7"'})
    assert stale.status_code == 412
    ok = await api.client.post(f"/v1/obligations/{ob['id']}/acknowledge", headers={**officer, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
    again = await api.client.post(f"/v1/obligations/{ob['id']}/acknowledge", headers=officer)
    assert again.status_code == 409
    no_comment = await api.client.post(
        f"/v1/obligations/{ob['id']}/review", json={"decision": "return"}, headers=api.actors.monitor
    )
    assert no_comment.status_code == 409  # nothing submitted yet


async def test_inbox_filters_and_keyset_pagination(api: Api) -> None:
    first = await api.dispatch()
    api.clock.now += timedelta(days=7)
    second = await api.dispatch(issued_on=date(2026, 12, 4), notation="02/VPUB-TTĐH")
    third = await api.dispatch(issued_on=date(2026, 12, 1), notation="03/VPUB-TTĐH")
    page1 = await api.inbox("X31299", limit=2)
    assert len(page1["items"]) == 2 and page1["next_cursor"]
    page2 = await api.inbox("X31299", limit=2, cursor=page1["next_cursor"])
    assert len(page2["items"]) == 1 and page2["next_cursor"] is None
    ordered = [o["directive"]["id"] for o in page1["items"] + page2["items"]]
    assert ordered == [first["id"], third["id"], second["id"]]
    assert all(o["unit_code"] == "X31299" for o in page1["items"] + page2["items"])

    ob = await api.obligation_of("X31299", first["id"])
    await api.acknowledge(ob["id"], "X31299")
    acknowledged = await api.inbox("X31299", status="acknowledged")
    assert [o["id"] for o in acknowledged["items"]] == [ob["id"]]
    due_soon = await api.inbox("X31299", due_before="2026-12-15")
    assert [o["directive"]["id"] for o in due_soon["items"]] == [first["id"]]
    api.clock.set_local(date(2026, 12, 15))  # the third document is due that day: not overdue yet
    overdue = await api.inbox("X31299", overdue="true")
    assert [o["directive"]["id"] for o in overdue["items"]] == [first["id"]]
    not_overdue = await api.inbox("X31299", overdue="false")
    assert {o["directive"]["id"] for o in not_overdue["items"]} == {second["id"], third["id"]}
    bad = await api.client.get("/v1/me/obligations?cursor=%%%", headers=api.actors.unit_officer("X31299"))
    assert bad.status_code == 422


async def test_extension_requests_approved_and_denied(api: Api) -> None:
    directive = await api.dispatch()
    ob = await api.obligation_of("X31299", directive["id"])
    officer = api.actors.unit_officer("X31299")
    url = f"/v1/obligations/{ob['id']}/extension-requests"
    too_early = await api.client.post(url, json={"requested_due_on": "2026-12-01", "reason": "x"}, headers=officer)
    assert too_early.status_code == 422
    req = await api.ok("POST", url, officer, {"requested_due_on": "2026-12-19", "reason": "Chờ số liệu"}, 201)
    dup = await api.client.post(url, json={"requested_due_on": "2026-12-20", "reason": "x"}, headers=officer)
    assert dup.status_code == 409
    by_unit = await api.client.post(f"{url}/{req['id']}/decision", json={"decision": "approve"}, headers=officer)
    assert by_unit.status_code == 403
    # 19/12/2026 is a Saturday: the approved deadline moves to the next working day
    decided = await api.ok("POST", f"{url}/{req['id']}/decision", api.actors.monitor, {"decision": "approve"})
    assert decided["status"] == "approved" and decided["approved_due_on"] == "2026-12-21"
    again = await api.client.post(f"{url}/{req['id']}/decision", json={"decision": "deny"}, headers=api.actors.monitor)
    assert again.status_code == 409
    detail = (await api.get(ob["id"], officer)).json()
    assert detail["due_on"] == "2026-12-21" and detail["original_due_on"] == "2026-12-11"
    assert detail["history"][-1]["action"] == "extend"

    second = await api.ok("POST", url, officer, {"requested_due_on": "2027-01-15", "reason": "Thêm thời gian"}, 201)
    denied = await api.ok(
        "POST", f"{url}/{second['id']}/decision", api.actors.monitor, {"decision": "deny", "comment": "Không có căn cứ"}
    )
    assert denied["status"] == "denied"
    assert (await api.get(ob["id"], officer)).json()["due_on"] == "2026-12-21"


async def test_manual_reminders_count_per_kind(api: Api) -> None:
    directive = await api.dispatch()
    ob = await api.obligation_of("X31299", directive["id"])
    url = f"/v1/obligations/{ob['id']}/reminders"
    one = await api.ok(
        "POST", url, api.actors.monitor, {"kind": "nhac_nho", "content": "Đề nghị báo cáo đúng hạn."}, 201
    )
    two = await api.ok("POST", url, api.actors.monitor, {"kind": "nhac_nho", "content": "Nhắc lần 2."}, 201)
    crit = await api.ok("POST", url, api.actors.admin, {"kind": "phe_binh", "content": "Phê bình chậm trễ."}, 201)
    review = await api.ok("POST", url, api.actors.monitor, {"kind": "kiem_diem", "content": "Kiểm điểm."}, 201)
    assert (one["sequence"], two["sequence"], crit["sequence"], review["sequence"]) == (1, 2, 1, 1)
    assert crit["kind_label"] == "Phê bình" and review["escalated_to"] == "UBND-TP"
    detail = (await api.get(ob["id"], api.actors.unit_officer("X31299"))).json()
    assert detail["reminder_counts"] == {"nhac_nho": 2, "phe_binh": 1, "kiem_diem": 1}
    assert [r["kind"] for r in detail["reminders"]].count("nhac_nho") == 2
    by_unit = await api.client.post(url, json={"content": "x"}, headers=api.actors.unit_officer("X31299"))
    assert by_unit.status_code == 403
    empty = await api.client.post(url, json={"kind": "nhac_nho", "content": " "}, headers=api.actors.monitor)
    assert empty.status_code == 422
