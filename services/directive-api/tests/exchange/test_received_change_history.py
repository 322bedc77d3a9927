"""Every change a sender asks about a document it sent us is kept and answered on its own: two changes
in a row are both listed and answered each with its 15/16; a revocation or a recall request that the
exchange delivers before the document labels the document when it arrives; the same request delivered
again is kept once; a change from an organisation we do not know, about a document we never received,
labels nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from directive_testing import Clock
from exchange_testing import OFFICE, SNV, STRANGER, answers, hub_clients, letter
from fastapi import FastAPI
from sqlalchemy import func, select, update

from common.edxml import (
    ResponseFor,
    build_document_package,
    build_revocation_package,
    build_status_package,
    make_status_package,
    make_update_package,
    parse_document_package,
)
from common.testing import TokenFactory
from common.vxp.client import VxpClient
from common.vxp.hub import HubProcess
from directive_api.events.models import OutboxEvent
from directive_api.exchange import transport
from directive_api.exchange.models import ReceivedChange


def _recall_request(document_id: str, number: str, description: str, sender: Any = OFFICE) -> bytes:
    return build_status_package(
        make_status_package(
            sender=sender,
            document=ResponseFor(
                organ_id=sender.organ_id,
                code=f"{number}/VPUB-TTĐH",
                promulgation_date=date(2026, 12, 1),
                document_id=document_id,
            ),
            status_code="13",
            description=description,
        )
    )


async def _received(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The department's received documents by number/notation (the packages without one by DocumentId
    and business type)."""
    listed = (await client.get("/v1/edxml/received", headers=headers)).json()
    return {
        r["notation"] if r["business_doc_type"] == 0 else f"{r['document_id']}#{r['business_doc_type']}": r
        for r in listed
    }


async def _changes(app: FastAPI) -> list[tuple[str, str, bool]]:
    """Every change kept: (kind, changed DocumentId, whether it found its document), sorted."""
    async with app.state.sessionmaker() as session:
        rows = (await session.scalars(select(ReceivedChange))).all()
        return sorted((row.kind, row.target_document_id, row.received_document_id is not None) for row in rows)


async def test_two_changes_in_a_row_are_both_listed_and_answered_each_on_its_own(
    department: FastAPI, hub: HubProcess, clock: Clock, token_factory: TokenFactory
) -> None:
    clerk = token_factory.headers("le-minh-tam", ["clerk"], "SNV")
    async with hub_clients(department, hub) as (client, office, snv):

        async def step() -> transport.Round:
            return await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())

        data, document_id = letter("07")
        await office.send(data, sender=OFFICE.organ_id, message_type="edoc")
        await step()
        original = parse_document_package(data)
        corrected = original.model_copy(
            update={"header": original.header.model_copy(update={"subject": "V/v báo cáo kết quả (đính chính)"})}
        )
        update = build_document_package(
            make_update_package(corrected, metadata_changed=True, reason="Đính chính trích yếu văn bản")
        )
        revocation = build_revocation_package(original, reason="Ban hành không đúng thẩm quyền.")
        await office.send(update, sender=OFFICE.organ_id, message_type="edoc")
        assert (await step()).applied == 1
        await office.send(revocation, sender=OFFICE.organ_id, message_type="edoc")
        assert (await step()).applied == 1

        # Both are kept, in arrival order: the second did not overwrite the first, still unanswered.
        letter07 = (await _received(client, clerk))["07/VPUB-TTĐH"]
        changes = letter07["changes"]
        assert [(c["kind"], c["state"], c["reason"]) for c in changes] == [
            ("update", "pending", "Đính chính trích yếu văn bản"),
            ("revoke", "pending", "Ban hành không đúng thẩm quyền."),
        ]
        assert all(c["package_id"] for c in changes)
        # The single label of before shows the latest one waiting for an answer.
        assert (letter07["change_id"], letter07["change_kind"], letter07["change_state"]) == (
            changes[1]["id"],
            "revoke",
            "pending",
        )

        url = f"/v1/edxml/received/{letter07['id']}/change"
        unnamed = await client.post(url, json={"decision": "agree"}, headers=clerk)
        assert unnamed.status_code == 409  # two wait: agreeing to "the" change would be a guess
        assert unnamed.headers["content-type"] == "application/problem+json"
        assert unnamed.json()["type"].endswith("/change-not-named")
        assert unnamed.json()["pending"] == [c["id"] for c in changes]
        unknown = await client.post(url, json={"decision": "agree", "change_id": 10**12}, headers=clerk)
        assert unknown.status_code == 404
        for bad in ({"decision": "agree", "change_id": 0}, {"decision": "agree", "change_id": "first"}):
            assert (await client.post(url, json=bad, headers=clerk)).status_code == 422

        refused = await client.post(
            url,
            json={"decision": "refuse", "change_id": changes[0]["id"], "reason": "Trích yếu đã đúng."},
            headers=clerk,
        )
        assert refused.status_code == 200, refused.text
        body = refused.json()
        assert [(c["kind"], c["state"]) for c in body["changes"]] == [("update", "refused"), ("revoke", "pending")]
        assert (body["changes"][0]["answer_reason"], body["changes"][0]["answered_by"]) == (
            "Trích yếu đã đúng.",
            "le-minh-tam",
        )
        assert (body["change_kind"], body["recalled_at"]) == ("revoke", None)
        # One waits now: it is the one answered without naming it.
        agreed = await client.post(url, json={"decision": "agree"}, headers=clerk)
        assert agreed.status_code == 200, agreed.text
        assert [c["state"] for c in agreed.json()["changes"]] == ["refused", "agreed"]
        assert agreed.json()["recalled_at"] is not None
        # The same answers again change nothing; the other answer is a 409.
        assert (await client.post(url, json={"decision": "agree"}, headers=clerk)).status_code == 200
        again = await client.post(url, json={"decision": "refuse", "change_id": changes[0]["id"]}, headers=clerk)
        assert again.status_code == 200
        other = await client.post(url, json={"decision": "agree", "change_id": changes[0]["id"]}, headers=clerk)
        assert other.status_code == 409

        await step()
        got = await answers(office)
        assert [(doc, code) for doc, code, _ in got if code in ("15", "16")] == [
            (document_id, "15"),
            (document_id, "16"),
        ]
        assert [description for _, code, description in got if code == "16"] == [
            "Văn thư từ chối yêu cầu cập nhật, lấy lại: Trích yếu đã đúng."
        ]
        async with department.state.sessionmaker() as session:
            recalled = (
                await session.scalars(select(OutboxEvent).where(OutboxEvent.type == "directive.recalled"))
            ).all()
            assert [(e.data["directive"]["id"], e.data["reason"]) for e in recalled] == [
                (letter07["id"], "Ban hành không đúng thẩm quyền.")
            ]


async def test_a_revocation_and_a_recall_that_come_first_label_their_documents_on_arrival_once(
    department: FastAPI, hub: HubProcess, clock: Clock, token_factory: TokenFactory
) -> None:
    clerk = token_factory.headers("le-minh-tam", ["clerk"], "SNV")
    office_clerk = token_factory.headers("vo-thi-thu", ["clerk"], "VPUB")  # speaks for the Office's organ id
    async with hub_clients(department, hub) as (client, office, snv):

        async def step() -> transport.Round:
            return await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())

        revoked, revoked_id = letter("08")
        recalled, recalled_id = letter("09")
        revocation = build_revocation_package(parse_document_package(revoked), reason="Sai đối tượng nhận.")
        request = _recall_request(recalled_id, "09", "Văn thư yêu cầu lấy lại văn bản điện tử: gửi nhầm")

        # The exchange delivers the revocation (twice) and the recall request before the letters: the
        # request once through the hub and once posted to the API.
        for _ in range(2):
            await office.send(revocation, sender=OFFICE.organ_id, message_type="edoc")
        await office.send(request, sender=OFFICE.organ_id, message_type="status", to=[SNV])
        polled = await step()
        assert (polled.applied, polled.refused) == (3, 0)
        posted = await client.post(
            "/v1/edxml/status", content=request, headers={**office_clerk, "Content-Type": "application/xml"}
        )
        assert posted.status_code == 200, posted.text
        assert (posted.json()["received_documents"], posted.json()["waiting_for"]) == ([], [recalled_id])
        assert posted.json()["deliveries"] == []
        assert await _changes(department) == [("recall", recalled_id, False), ("revoke", revoked_id, False)]
        # Nothing of the letters is here yet; the revocation package itself is kept and answered 01.
        listed = await _received(client, clerk)
        assert set(listed) == {f"{revoked_id}#1"}
        assert listed[f"{revoked_id}#1"]["changes"] == []

        for data in (revoked, recalled):
            await office.send(data, sender=OFFICE.organ_id, message_type="edoc")
        assert (await step()).applied == 2
        assert await _changes(department) == [("recall", recalled_id, True), ("revoke", revoked_id, True)]
        listed = await _received(client, clerk)
        (revoke,) = listed["08/VPUB-TTĐH"]["changes"]
        assert (revoke["kind"], revoke["state"], revoke["reason"]) == ("revoke", "pending", "Sai đối tượng nhận.")
        assert revoke["package_id"] == listed[f"{revoked_id}#1"]["id"]
        assert listed["08/VPUB-TTĐH"]["change_kind"] == "revoke"
        (recall,) = listed["09/VPUB-TTĐH"]["changes"]
        assert (recall["kind"], recall["state"], recall["package_id"]) == ("recall", "pending", None)
        assert recall["reason"] == "Văn thư yêu cầu lấy lại văn bản điện tử: gửi nhầm"
        # The letters are still received as such: answered 01, and each an obligation of the unit.
        assert {listed[n]["status"] for n in ("08/VPUB-TTĐH", "09/VPUB-TTĐH")} == {"01"}

        # Delivered once more after its document, the request is the same one.
        await office.send(request, sender=OFFICE.organ_id, message_type="status", to=[SNV])
        assert (await step()).applied == 1
        assert len(await _changes(department)) == 2

        # Applied concurrently, the letter's transaction may not see the request's row to mark it: the
        # request still counts for the letter, and is marked when it is answered.
        async with department.state.sessionmaker() as session, session.begin():
            await session.execute(
                update(ReceivedChange).where(ReceivedChange.kind == "recall").values(received_document_id=None)
            )
        listed = await _received(client, clerk)
        assert [c["kind"] for c in listed["09/VPUB-TTĐH"]["changes"]] == ["recall"]
        assert listed["09/VPUB-TTĐH"]["change_state"] == "pending"

        agreed = await client.post(
            f"/v1/edxml/received/{listed['08/VPUB-TTĐH']['id']}/change", json={"decision": "agree"}, headers=clerk
        )
        assert agreed.status_code == 200, agreed.text
        assert agreed.json()["recalled_at"] is not None
        refused = await client.post(
            f"/v1/edxml/received/{listed['09/VPUB-TTĐH']['id']}/change",
            json={"decision": "refuse", "reason": "Văn bản đã được phân công xử lý."},
            headers=clerk,
        )
        assert refused.status_code == 200, refused.text
        assert refused.json()["recalled_at"] is None
        assert [(c["kind"], c["state"]) for c in refused.json()["changes"]] == [("recall", "refused")]
        assert await _changes(department) == [("recall", recalled_id, True), ("revoke", revoked_id, True)]

        await step()
        got = await answers(office)
        assert sorted((doc, code) for doc, code, _ in got if code in ("15", "16")) == [
            (revoked_id, "15"),
            (recalled_id, "16"),
        ]


async def test_a_change_from_an_unknown_sender_about_a_document_it_did_not_send_labels_nothing(
    department: FastAPI, hub: HubProcess, clock: Clock, token_factory: TokenFactory
) -> None:
    clerk = token_factory.headers("le-minh-tam", ["clerk"], "SNV")
    async with hub_clients(department, hub) as (client, office, snv), httpx.AsyncClient(timeout=30) as http:
        stranger = VxpClient(hub.url, "vxp.xa", "xa-secret", http)

        async def step() -> transport.Round:
            return await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())

        data, document_id = letter("07")
        await office.send(data, sender=OFFICE.organ_id, message_type="edoc")
        await step()
        # An organisation the directory does not know revokes a letter of its own we never received,
        # and asks back the Office's letter (its DocumentId, under its own organ id).
        unknown, unknown_id = letter("31", sender=STRANGER)
        revocation = build_revocation_package(parse_document_package(unknown), reason="Thu hồi.")
        await stranger.send(revocation, sender=STRANGER.organ_id, message_type="edoc")
        await stranger.send(
            _recall_request(document_id, "07", "Lấy lại.", sender=STRANGER),
            sender=STRANGER.organ_id,
            message_type="status",
            to=[SNV],
        )
        polled = await step()
        assert (polled.applied, polled.refused) == (2, 0)

        listed = await _received(client, clerk)
        assert (listed["07/VPUB-TTĐH"]["changes"], listed["07/VPUB-TTĐH"]["change_kind"]) == ([], None)
        # Kept, waiting for documents that sender may yet send; they label nothing of the Office's.
        assert await _changes(department) == [("recall", document_id, False), ("revoke", unknown_id, False)]
        nothing = await client.post(
            f"/v1/edxml/received/{listed['07/VPUB-TTĐH']['id']}/change", json={"decision": "agree"}, headers=clerk
        )
        assert nothing.status_code == 409
        assert nothing.json()["type"].endswith("/no-change-requested")
        async with department.state.sessionmaker() as session:
            withdrawn = await session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "directive.recalled")
            )
            assert withdrawn == 0
