"""Constants of the exchange tests: the Office and Sở Nội vụ as members of the hub double."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import date

import httpx
from fastapi import FastAPI

from common.edxml import (
    Code,
    DocumentType,
    MessageHeader,
    Organization,
    PromulgationInfo,
    build_document_package,
    make_document_package,
    parse_status_package,
)
from common.vxp.client import VxpClient
from common.vxp.hub import HubProcess
from common.webhooks import signature_headers

OFFICE = Organization(organ_id="000.00.01.H13", organ_name="Văn phòng UBND thành phố Cần Thơ")
SNV = "000.00.02.H13"
STRANGER = Organization(organ_id="000.00.99.H13", organ_name="Một cơ quan chưa có trong danh bạ")
"""An organisation no directory of the tests knows (a member of the hub double all the same)."""
INBOX_SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"


@contextlib.asynccontextmanager
async def hub_clients(
    department: FastAPI, hub: HubProcess
) -> AsyncIterator[tuple[httpx.AsyncClient, VxpClient, VxpClient]]:
    """The department's API (in process), and the Office's and the department's hub memberships."""
    asgi = httpx.ASGITransport(app=department, raise_app_exceptions=False)
    async with (
        httpx.AsyncClient(transport=asgi, base_url="http://directive-api.test") as client,
        httpx.AsyncClient(timeout=30) as http,
    ):
        yield (
            client,
            VxpClient(hub.url, "vxp.vpub", "office-secret", http),
            VxpClient(hub.url, "vxp.snv", "snv-secret", http),
        )


def letter(number: str, *, also: tuple[Organization, ...] = (), sender: Organization = OFFICE) -> tuple[bytes, str]:
    """A letter of the Office (or ``sender``) to Sở Nội vụ (and ``also`` to these), and its DocumentId."""
    document_id = f"{sender.organ_id},2026/12/01,{number}/VPUB-TTĐH"
    header = MessageHeader(
        sender=sender,
        recipients=(Organization(organ_id=SNV, organ_name="Sở Nội vụ"), *also),
        document_id=document_id,
        code=Code(code_number=number, code_notation="VPUB-TTĐH"),
        promulgation_info=PromulgationInfo(place="Cần Thơ", promulgation_date=date(2026, 12, 1)),
        document_type=DocumentType(type=1, type_detail=0, type_name="Công văn"),
        subject="V/v báo cáo kết quả theo dõi Kênh thông tin chính thức",
        due_date=date(2026, 12, 15),
        steering_type=1,
    )
    return build_document_package(make_document_package(header)), document_id


async def answers(office: VxpClient) -> list[tuple[str, str, str | None]]:
    """The status packages waiting for the Office (DocumentId, code, Description), acknowledged."""
    found = []
    for item in await office.received("status"):
        package = parse_status_package(await office.fetch(item.doc_id))
        assert package.sender.organ_id == SNV
        (reference,) = package.response_for
        assert reference.document_id is not None
        found.append((reference.document_id, package.status_code, package.description))
        await office.acknowledge(item.doc_id, "done")
    return sorted(found, key=lambda a: a[1])


async def report_api_event(
    client: httpx.AsyncClient, event_id: str, type_: str, received_id: str, sequence: int | None = None
) -> bool:
    """report-api's event about Sở Nội vụ's obligation for the received document, posted to the
    inbox; whether it changed anything."""
    event: dict[str, object] = {
        "id": event_id,
        "type": type_,
        "source": "report-api",
        "subject": f"obl-{received_id}",
        "data": {"directive_id": received_id, "unit_code": "SNV", "obligation_id": "obl-1"},
    }
    if sequence is not None:
        event["sequence"] = sequence
    body = json.dumps(event).encode()
    headers = {**signature_headers(INBOX_SECRET, event_id, body), "Content-Type": "application/json"}
    response = await client.post("/v1/inbox/events", content=body, headers=headers)
    assert response.status_code == 200, response.text
    applied: bool = response.json()["applied"]
    return applied
