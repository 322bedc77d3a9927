"""A received document can be opened before anyone answers it: its package's header and its
attachments' bytes, for whoever sees it in the list (404 for anyone else); and the answer that
report-api's events make is recorded as report-api's, not shown with an earlier person's name."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from directive_testing import Clock
from exchange_testing import OFFICE, SNV, hub_clients, letter, report_api_event
from fastapi import FastAPI

from common.edxml import (
    Attachment,
    Code,
    DocumentType,
    MessageHeader,
    Organization,
    PromulgationInfo,
    SignerInfo,
    build_document_package,
    make_document_package,
)
from common.testing import TokenFactory
from common.vxp.hub import HubProcess
from directive_api.exchange import transport

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
XLSX = b"PK\x03\x04" + b"\x00\x01" * 300


def _signed_letter() -> bytes:
    header = MessageHeader(
        sender=OFFICE,
        recipients=(Organization(organ_id=SNV, organ_name="Sở Nội vụ"),),
        document_id=f"{OFFICE.organ_id},2026/12/01,21/VPUB-TTĐH",
        code=Code(code_number="21", code_notation="VPUB-TTĐH"),
        promulgation_info=PromulgationInfo(place="Cần Thơ", promulgation_date=date(2026, 12, 1)),
        document_type=DocumentType(type=1, type_detail=0, type_name="Công văn"),
        subject="V/v rà soát biên chế công chức năm 2027",
        signer_info=SignerInfo(
            competence="KT. CHÁNH VĂN PHÒNG", position="PHÓ CHÁNH VĂN PHÒNG", full_name="Trần Văn Bình"
        ),
        due_date=date(2026, 12, 20),
        steering_type=1,
        to_places=("Sở Nội vụ",),
    )
    attachments = (
        Attachment(content_id="a1", attachment_name="21-VPUB-TTĐH.pdf", content_type="application/pdf", content=PDF),
        Attachment(
            content_id="a2",
            attachment_name="Biểu mẫu rà soát.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            content=XLSX,
        ),
    )
    return build_document_package(make_document_package(header, attachments=attachments))


async def test_a_received_document_opens_with_its_header_and_attachments_for_its_unit_only(
    department: FastAPI, hub: HubProcess, clock: Clock, token_factory: TokenFactory
) -> None:
    clerk = token_factory.headers("le-minh-tam", ["clerk"], "SNV")
    handler = token_factory.headers("nguyen-van-nam", ["drafter"], "SNV")
    office_clerk = token_factory.headers("vo-thi-thu", ["clerk"], "VPUB")
    office_auditor = token_factory.headers("kiem-toan", ["auditor"], "VPUB")
    officer = token_factory.headers("officer-snv", ["unit_officer"], "SNV")
    async with hub_clients(department, hub) as (client, office, snv):
        await office.send(_signed_letter(), sender=OFFICE.organ_id, message_type="edoc")
        assert (await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())).applied
        (listed,) = (await client.get("/v1/edxml/received", headers=clerk)).json()
        url = f"/v1/edxml/received/{listed['id']}"

        opened = await client.get(url, headers=handler)
        assert opened.status_code == 200, opened.text
        body = opened.json()
        assert {k: body[k] for k in listed} == listed  # the listed record, and more
        assert (body["code"], body["subject"], body["type_name"]) == (
            "21/VPUB-TTĐH",
            "V/v rà soát biên chế công chức năm 2027",
            "Công văn",
        )
        assert body["sender"] == {"organ_id": OFFICE.organ_id, "organ_name": OFFICE.organ_name}
        assert (body["promulgation_date"], body["due_date"]) == ("2026-12-01", "2026-12-20")
        assert (body["signer_name"], body["signer_position"], body["signer_competence"]) == (
            "Trần Văn Bình",
            "PHÓ CHÁNH VĂN PHÒNG",
            "KT. CHÁNH VĂN PHÒNG",
        )
        assert (body["steering_type"], body["to_places"]) == (1, ["Sở Nội vụ"])
        assert [(a["index"], a["name"], a["content_type"], a["size"]) for a in body["attachments"]] == [
            (0, "21-VPUB-TTĐH.pdf", "application/pdf", len(PDF)),
            (
                1,
                "Biểu mẫu rà soát.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                len(XLSX),
            ),
        ]
        # The Office's auditor sees every unit's mail, as in the list.
        assert (await client.get(url, headers=office_auditor)).status_code == 200

        pdf = await client.get(f"{url}/attachments/0", headers=clerk)
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert hashlib.sha256(pdf.content).digest() == hashlib.sha256(PDF).digest()
        by_name = await client.get(f"{url}/attachments/Biểu mẫu rà soát.xlsx", headers=clerk)
        assert by_name.status_code == 200
        assert by_name.content == XLSX
        assert by_name.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert "attachment" in by_name.headers["content-disposition"]

        # Unknowns are problems; another unit's clerk is told nothing (404), a unit officer has no role here.
        for path, who, status in (
            (f"{url}/attachments/2", clerk, 404),
            (f"{url}/attachments/nothing.pdf", clerk, 404),
            ("/v1/edxml/received/8b0e2c1e-0000-4000-8000-000000000000", clerk, 404),
            (url, office_clerk, 404),
            (f"{url}/attachments/0", office_clerk, 404),
            (url, officer, 403),
            ("/v1/edxml/received/not-a-uuid", clerk, 422),
        ):
            answer = await client.get(path, headers=who)
            assert answer.status_code == status, (path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
        assert (await client.get(url)).status_code == 401


async def test_the_06_of_a_report_in_report_api_is_recorded_as_report_apis_not_the_earlier_signers(
    department: FastAPI, hub: HubProcess, clock: Clock, token_factory: TokenFactory
) -> None:
    clerk = token_factory.headers("le-minh-tam", ["clerk"], "SNV")
    leader = token_factory.headers("ho-thi-lan", ["signer"], "SNV")
    async with hub_clients(department, hub) as (client, office, snv):
        data, _document_id = letter("22")
        await office.send(data, sender=OFFICE.organ_id, message_type="edoc")
        await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())
        (listed,) = (await client.get("/v1/edxml/received", headers=clerk)).json()
        url = f"/v1/edxml/received/{listed['id']}/status"
        assert (await client.post(url, json={"code": "03"}, headers=clerk)).status_code == 200
        clock.now += timedelta(minutes=5)
        assigned = await client.post(url, json={"code": "04", "reason": "Giao phòng CCVC."}, headers=leader)
        assert (assigned.json()["status_by"], assigned.json()["status_reason"]) == ("ho-thi-lan", "Giao phòng CCVC.")

        clock.now += timedelta(hours=2)
        reported_at = clock.now
        assert await report_api_event(client, "evt-1", "obligation.submitted", listed["id"], 1)
        (shown,) = (await client.get("/v1/edxml/received", headers=clerk)).json()
        assert shown["status"] == "06"
        assert (shown["status_by"], shown["status_reason"]) == ("report-api", None)
        assert shown["status_at"].replace("Z", "+00:00") == reported_at.isoformat()
        opened = (await client.get(f"/v1/edxml/received/{listed['id']}", headers=clerk)).json()
        assert (opened["status"], opened["status_by"]) == ("06", "report-api")
