"""Update, replacing and revocation packages and recall requests (13) about a document we received are
labelled on it — what its sender asks, why, and the package that asks it — not applied; the clerk
agrees (15; an agreed recall marks it recalled and closes its obligation) or refuses (16), once each."""

from __future__ import annotations

from datetime import date

from directive_testing import Clock
from exchange_testing import OFFICE, SNV, answers, hub_clients, letter
from fastapi import FastAPI
from sqlalchemy import select

from common.edxml import (
    Code,
    DocumentType,
    MessageHeader,
    Organization,
    PromulgationInfo,
    ResponseFor,
    build_document_package,
    build_replacement_package,
    build_revocation_package,
    build_status_package,
    make_document_package,
    make_status_package,
    make_update_package,
    parse_document_package,
)
from common.testing import TokenFactory
from common.vxp.hub import HubProcess
from directive_api.events.models import OutboxEvent
from directive_api.exchange import transport


async def test_an_update_then_a_recall_request_are_labelled_and_answered_15_then_16(
    department: FastAPI, hub: HubProcess, clock: Clock, token_factory: TokenFactory
) -> None:
    clerk = token_factory.headers("le-minh-tam", ["clerk"], "SNV")
    handler = token_factory.headers("nguyen-van-nam", ["drafter"], "SNV")
    async with hub_clients(department, hub) as (client, office, snv):

        async def step() -> transport.Round:
            return await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())

        data, document_id = letter("07")
        await office.send(data, sender=OFFICE.organ_id, message_type="edoc")
        await step()
        (original,) = (await client.get("/v1/edxml/received", headers=clerk)).json()
        assert original["change_kind"] is None
        change_url = f"/v1/edxml/received/{original['id']}/change"
        nothing = await client.post(change_url, json={"decision": "agree"}, headers=clerk)
        assert nothing.status_code == 409  # nothing was asked
        assert nothing.headers["content-type"] == "application/problem+json"
        assert (
            await client.post(f"/v1/edxml/received/{original['id']}/status", json={"code": "03"}, headers=clerk)
        ).status_code == 200

        # The Office corrects its letter's subject: an update package with the same DocumentId.
        updated = parse_document_package(data)
        updated = updated.model_copy(
            update={"header": updated.header.model_copy(update={"subject": "V/v báo cáo kết quả (đính chính)"})}
        )
        reason = "Đính chính trích yếu văn bản"
        update = build_document_package(make_update_package(updated, metadata_changed=True, reason=reason))
        await office.send(update, sender=OFFICE.organ_id, message_type="edoc")
        assert (await step()).applied == 1
        listed = {r["id"]: r for r in (await client.get("/v1/edxml/received", headers=clerk)).json()}
        assert len(listed) == 2  # the update package is kept as a received package of its own
        labelled = listed[original["id"]]
        assert (labelled["change_kind"], labelled["change_state"], labelled["change_reason"]) == (
            "update",
            "pending",
            reason,
        )
        assert listed[labelled["change_package_id"]]["business_doc_type"] == 2
        assert labelled["status"] == "03"  # the change is not applied: the clerk decides

        # Only the clerk answers; bad input changes nothing.
        assert (await client.post(change_url, json={"decision": "agree"}, headers=handler)).status_code == 403
        for body in ({"decision": "maybe"}, {"decision": "agree", "reason": ""}, {}):
            assert (await client.post(change_url, json=body, headers=clerk)).status_code == 422
        agreed = await client.post(change_url, json={"decision": "agree"}, headers=clerk)
        assert agreed.status_code == 200, agreed.text
        assert (agreed.json()["change_state"], agreed.json()["recalled_at"]) == ("agreed", None)
        assert (await client.post(change_url, json={"decision": "agree"}, headers=clerk)).status_code == 200
        assert (await client.post(change_url, json={"decision": "refuse"}, headers=clerk)).status_code == 409

        # Then the Office asks for the letter back (status 13), twice (the hub may deliver it again).
        request = build_status_package(
            make_status_package(
                sender=OFFICE,
                document=ResponseFor(
                    organ_id=OFFICE.organ_id,
                    code="07/VPUB-TTĐH",
                    promulgation_date=date(2026, 12, 1),
                    document_id=document_id,
                ),
                status_code="13",
                description="Văn thư yêu cầu lấy lại văn bản điện tử: gửi nhầm phụ lục",
            )
        )
        for _ in range(2):
            await office.send(request, sender=OFFICE.organ_id, message_type="status", to=[SNV])
            polled = await step()
            assert (polled.applied, polled.refused) == (1, 0)
        recall = (await client.get("/v1/edxml/received", headers=clerk)).json()
        labelled = next(r for r in recall if r["id"] == original["id"])
        assert (labelled["change_kind"], labelled["change_state"], labelled["change_package_id"]) == (
            "recall",
            "pending",
            None,
        )
        assert labelled["change_reason"] == "Văn thư yêu cầu lấy lại văn bản điện tử: gửi nhầm phụ lục"
        refused = await client.post(
            change_url, json={"decision": "refuse", "reason": "Văn bản đã được phân công xử lý."}, headers=clerk
        )
        assert refused.status_code == 200, refused.text
        assert (refused.json()["change_state"], refused.json()["recalled_at"]) == ("refused", None)
        # The same request delivered a third time does not open it again.
        await office.send(request, sender=OFFICE.organ_id, message_type="status", to=[SNV])
        await step()
        again = next(
            r for r in (await client.get("/v1/edxml/received", headers=clerk)).json() if r["id"] == original["id"]
        )
        assert again["change_state"] == "refused"

        await step()
        got = await answers(office)
        assert [(doc, code) for doc, code, _ in got] == [
            (document_id, "01"),
            (document_id, "01"),  # the update package, answered on arrival
            (document_id, "03"),
            (document_id, "15"),
            (document_id, "16"),
        ]
        assert got[-1][2] == "Văn thư từ chối yêu cầu cập nhật, lấy lại: Văn bản đã được phân công xử lý."


async def test_an_agreed_revocation_marks_it_recalled_and_an_agreed_replacement_closes_it(
    department: FastAPI, hub: HubProcess, clock: Clock, token_factory: TokenFactory
) -> None:
    clerk = token_factory.headers("le-minh-tam", ["clerk"], "SNV")
    async with hub_clients(department, hub) as (client, office, snv):

        async def step() -> transport.Round:
            return await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())

        recalled_data, _ = letter("08")
        replaced_data, replaced_id = letter("09")
        for data in (recalled_data, replaced_data):
            await office.send(data, sender=OFFICE.organ_id, message_type="edoc")
        await step()
        ids = {r["notation"]: r["id"] for r in (await client.get("/v1/edxml/received", headers=clerk)).json()}

        revocation = build_revocation_package(parse_document_package(recalled_data), reason="Sai đối tượng nhận.")
        header = MessageHeader(
            sender=OFFICE,
            recipients=(Organization(organ_id=SNV, organ_name="Sở Nội vụ"),),
            code=Code(code_number="10", code_notation="VPUB-TTĐH"),
            promulgation_info=PromulgationInfo(place="Cần Thơ", promulgation_date=date(2026, 12, 2)),
            document_type=DocumentType(type=1, type_detail=0, type_name="Công văn"),
            subject="V/v báo cáo kết quả (thay thế Công văn số 09/VPUB-TTĐH)",
            due_date=date(2026, 12, 20),
        )
        replacement = build_replacement_package(
            make_document_package(header), [parse_document_package(replaced_data)], reason="Thay đổi thời hạn"
        )
        for data in (revocation, replacement):
            await office.send(data, sender=OFFICE.organ_id, message_type="edoc")
        assert (await step()).applied == 2

        url = f"/v1/edxml/received/{ids['08/VPUB-TTĐH']}"
        agreed = await client.post(f"{url}/change", json={"decision": "agree"}, headers=clerk)
        assert agreed.status_code == 200, agreed.text
        assert agreed.json()["change_kind"] == "revoke"
        assert agreed.json()["change_reason"] == "Sai đối tượng nhận."
        assert agreed.json()["recalled_at"] is not None
        late = await client.post(f"{url}/status", json={"code": "03"}, headers=clerk)
        assert late.status_code == 409  # recalled: nothing more is answered

        url = f"/v1/edxml/received/{ids['09/VPUB-TTĐH']}"
        agreed = await client.post(f"{url}/change", json={"decision": "agree"}, headers=clerk)
        assert (agreed.json()["change_kind"], agreed.json()["change_state"]) == ("replace", "agreed")
        successor = agreed.json()["change_package_id"]
        listed = {r["id"]: r for r in (await client.get("/v1/edxml/received", headers=clerk)).json()}
        assert (listed[successor]["notation"], listed[successor]["business_doc_type"]) == ("10/VPUB-TTĐH", 3)

        async with department.state.sessionmaker() as session:
            events = (await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))).all()
            recalled = [e for e in events if e.type == "directive.recalled"]
            assert [e.data["directive"]["id"] for e in recalled] == [ids["08/VPUB-TTĐH"]]
            assert recalled[0].data["reason"] == "Sai đối tượng nhận."
            (replaced,) = [e for e in events if e.type == "directive.replaced"]
            assert replaced.data["directive"]["id"] == ids["09/VPUB-TTĐH"]
            assert replaced.data["replaced_by"]["id"] == successor
            assert replaced.data["replaced_by"]["notation"] == "10/VPUB-TTĐH"
            # The replacing document is a new obligation of the unit (it asks for a report by 20/12).
            dispatched = [e.data["directive"]["id"] for e in events if e.type == "directive.dispatched"]
            assert successor in dispatched

        await step()
        got = await answers(office)
        fifteens = [doc for doc, code, _ in got if code == "15"]
        assert sorted(fifteens) == sorted([f"{OFFICE.organ_id},2026/12/01,08/VPUB-TTĐH", replaced_id])
