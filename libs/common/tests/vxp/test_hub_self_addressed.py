"""The hub double refuses a package whose recipients resolve to its sender alone: a recall request
(13) about the sender's own document routed by ``ResponseFor`` would only come back to it."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import httpx
import pytest
from vxp_testing import OFFICE, SNV

from common.edxml import Organization, ResponseFor, build_status_package, make_status_package, parse_status_package
from common.vxp import VxpError, hash_file
from common.vxp.client import VxpClient
from common.vxp.hub import HubProcess
from common.vxp.protocol import sign_headers


def _recall_request() -> bytes:
    """The Office asks Sở Nội vụ to give back the Office's own letter (status 13)."""
    package = make_status_package(
        sender=Organization(organ_id=OFFICE, organ_name="Văn phòng UBND thành phố Cần Thơ"),
        document=ResponseFor(organ_id=OFFICE, code="07/VPUB-TTĐH", document_id=f"{OFFICE},2026/12/01,07/VPUB-TTĐH"),
        status_code="13",
        description="Văn bản ban hành nhầm, đề nghị trả lại.",
        timestamp=datetime(2026, 12, 2, 9, 0),
    )
    return build_status_package(package)


async def test_a_recall_request_without_to_is_refused_and_with_to_reaches_the_recipient(hub: HubProcess) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        office = VxpClient(hub.url, "vxp.vpub", "office-secret", http)
        snv = VxpClient(hub.url, "vxp.snv", "snv-secret", http)
        request = _recall_request()
        with pytest.raises(VxpError, match=r"chi la don vi gui 000\.00\.01\.H13"):
            await office.send(request, sender=OFFICE, message_type="status")
        # On the wire: the FAIL envelope, with no DocId, and nothing waits for anyone.
        logical = {
            "systemid": "vxp.vpub",
            "from": OFFICE,
            "servicetype": "eDoc",
            "messagetype": "status",
            "hash-file": hash_file(request),
            "timestamp": "02122026T093635+0700",
        }
        answer = await http.post(
            f"{hub.url}/sendEdoc",
            content=request + b"\r\n",
            headers=sign_headers(logical, "office-secret") | {"Content-Type": "application/octet-stream"},
        )
        envelope = answer.json()
        assert (answer.status_code, envelope["status"], envelope["ErrorCode"], envelope["DocId"]) == (
            200,
            "FAIL",
            "400",
            "",
        )
        assert "header to" in envelope["ErrorDesc"]
        assert envelope["ErrorDesc"].isascii()
        assert await office.received("status") == []
        assert await snv.received("status") == []
        # Naming the recipient in `to` sends it there (and a `to` naming only the sender is refused too).
        with pytest.raises(VxpError, match="chi la don vi gui"):
            await office.send(request, sender=OFFICE, message_type="status", to=[OFFICE])
        await office.send(request, sender=OFFICE, message_type="status", to=[SNV])
        (waiting,) = await snv.received("status")
        assert (waiting.sender, waiting.recipient) == (OFFICE, SNV)
        assert await snv.fetch(waiting.doc_id) == request
        assert await office.received("status") == []


def test_the_status_package_of_docs_exchange_md_is_what_the_builder_writes() -> None:
    """An integrator copies the example of docs/exchange.md: it must be a package the product writes and reads."""
    doc = (Path(__file__).resolve().parents[4] / "docs" / "exchange.md").read_text(encoding="utf-8")
    section = doc.split("### A partner's calls, complete", 1)[1]
    example = section.split("```xml\n", 1)[1].split("```", 1)[0].encode()
    package = make_status_package(
        sender=Organization(organ_id=SNV, organ_name="Sở Nội vụ"),
        document=ResponseFor(
            organ_id=OFFICE,
            code="07/VPUB-TTĐH",
            promulgation_date=date(2026, 12, 1),
            document_id=f"{OFFICE},2026/12/01,07/VPUB-TTĐH",
        ),
        status_code="03",
        timestamp=datetime(2026, 12, 2, 9, 15),
    )
    assert example == build_status_package(package)
    assert parse_status_package(example).response_for[0].document_id == f"{OFFICE},2026/12/01,07/VPUB-TTĐH"
    assert '"XroadVnpt-to":"[\\"000.00.01.H13\\"]"' in section  # the `to` header as the client signs it
