"""Two copies of the product exchange a letter through the VXP hub double, all as separate processes
over HTTP: the Office (directive-api + report-api, what ``make run`` starts) and Sở Nội vụ's own copy
(its own directive-api + report-api, databases and keys; ``run_local.py --department``).

The seed letter leaves the Office with 130 valid organ ids; the hub's received list for the department
shows it; the department's worker takes it in and answers 01; its officer acknowledges (03) and
reports (06) in its report-api; its clerk issues a reply that answers the letter; the Office's
delivery for the department moves 01 → 03 → 06 and the reply is linked to it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import run_local
from stack_testing import PDF_WORKERS, dispatch_walked_letter, free_port, stack_headers

from common.edxml import OrganIdFormat, classify_organ_id, parse_document_package
from common.vxp.client import VxpClient
from directive_api.cli.walk import tokens as walk_tokens
from directive_api.seed.loader import seed_letter


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


async def _waiting_at_the_hub(vxp_port: int, secret: str) -> list[str]:
    """The organ ids of the letter the hub holds for Sở Nội vụ (read without acknowledging it)."""
    async with httpx.AsyncClient(timeout=10) as http:
        snv = VxpClient(f"http://127.0.0.1:{vxp_port}", "vxp.snv", secret, http)
        deadline = time.monotonic() + 90
        while not (waiting := await snv.received("edoc")):
            assert time.monotonic() < deadline, "the letter never reached the hub"
            await asyncio.sleep(0.3)
        (knobstick,) = waiting
        assert (knobstick.sender, knobstick.recipient) == (run_local.OFFICE_ORGAN_ID, run_local.DEPARTMENT_ORGAN_ID)
        package = parse_document_package(await snv.fetch(knobstick.doc_id))
        return [r.organ_id for r in package.header.recipients]


def _act(base: str, document: dict[str, Any], action: str, who: dict[str, str]) -> dict[str, Any]:
    # Long timeouts: approval renders and issue signs PDFs, slow on a busy machine.
    response = httpx.post(
        f"{base}/v1/directives/{document['id']}/{action}",
        headers={**who, "If-Match": document["etag"]},
        timeout=300,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _drafted(base: str, body: dict[str, Any], drafter: dict[str, str]) -> dict[str, Any]:
    created = httpx.post(
        f"{base}/v1/directives",
        json=body,
        headers={**drafter, "Idempotency-Key": str(uuid.uuid4())},
        timeout=300,
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def _issued(
    base: str, draft: dict[str, Any], drafter: dict[str, str], signer: dict[str, str], clerk: dict[str, str]
) -> dict[str, Any]:
    """The draft submitted, approved and issued through the API."""
    approved = _act(base, _act(base, draft, "submit", drafter), "approve", signer)
    return _act(base, approved, "issue", clerk)


def _events(base: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = httpx.get(f"{base}/v1/events", params={"after": after, "limit": 1000}, headers=headers, timeout=30)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        if page.json()["next_cursor"] == after:
            return items
        after = page.json()["next_cursor"]


@pytest.mark.timeout(1200)  # two stacks start and sign PDFs: minutes on a loaded machine
def test_the_office_and_a_department_exchange_a_letter_its_statuses_and_a_reply(tmp_path: Path) -> None:
    office_var, snv_var = tmp_path / "office", tmp_path / "snv"
    office_port, office_report, vxp_port, idp_port = free_port(), free_port(), free_port(), free_port()
    snv_port, snv_report = free_port(), free_port()
    office = f"http://127.0.0.1:{office_port}"
    snv = f"http://127.0.0.1:{snv_port}"
    snv_reports = f"http://127.0.0.1:{snv_report}"
    processes = run_local.start(
        office_var,
        directive_port=office_port,
        report_port=office_report,
        vxp_port=vxp_port,
        idp_port=idp_port,
        pdf_workers=PDF_WORKERS,
    )
    try:
        tokens = {k: {"Authorization": f"Bearer {v}"} for k, v in walk_tokens(office_var / "keys").items()}
        clerk, monitor = tokens["vo-thi-thu"], tokens["dang-minh-khoa"]
        _issued(
            office,
            _drafted(office, seed_letter(), tokens["tran-van-an"]),
            tokens["tran-van-an"],
            tokens["le-xuan-hoa"],
            clerk,
        )
        doc = dispatch_walked_letter(office, office, clerk)

        # The hub's received list for the department shows the letter, addressed by 130 organ ids.
        secret = (office_var / "keys" / "vxp-snv.secret").read_text().strip()
        organs = asyncio.run(_waiting_at_the_hub(vxp_port, secret))
        assert len(set(organs)) == 130
        assert all(classify_organ_id(o) is OrganIdFormat.QCVN_102 for o in organs)

        # Sở Nội vụ's own copy starts and its worker takes the letter in.
        processes += run_local.start_department(
            snv_var,
            office_var,
            directive_port=snv_port,
            report_port=snv_report,
            vxp_port=vxp_port,
            idp_port=idp_port,
            pdf_workers=PDF_WORKERS,
        )
        snv_clerk = stack_headers(snv_var, "le-minh-tam", ["clerk"], "SNV")

        def received() -> list[dict[str, Any]]:
            response = httpx.get(f"{snv}/v1/edxml/received", headers=snv_clerk, timeout=10)
            assert response.status_code == 200, response.text
            found: list[dict[str, Any]] = response.json()
            return found

        _wait_for(lambda: len(received()) == 1, "the department to take the letter in")
        (letter,) = received()
        assert letter["notation"] == doc["notation"]
        assert letter["sender_unit_code"] == "VPUB"
        assert letter["due_date"] is not None

        def office_status() -> str:
            response = httpx.get(f"{office}/v1/directives/{doc['id']}/recipients", headers=clerk, timeout=10)
            status: str = next(i for i in response.json()["items"] if i["unit_code"] == "SNV")["status"]
            return status

        _wait_for(lambda: office_status() == "01", "the Office to see 01 (arrived)")

        # Its officer acknowledges, then reports, in the department's report-api.
        officer = stack_headers(snv_var, "officer-snv", ["unit_officer"], "SNV")

        def obligation() -> dict[str, Any] | None:
            inbox = httpx.get(f"{snv_reports}/v1/me/obligations", headers=officer, timeout=10).json()
            return next((o for o in inbox.get("items", []) if o["directive"]["id"] == letter["id"]), None)

        _wait_for(lambda: obligation() is not None, "the department's report-api to hold the obligation")
        mine = obligation()
        assert mine is not None
        acknowledged = httpx.post(f"{snv_reports}/v1/obligations/{mine['id']}/acknowledge", headers=officer, timeout=10)
        assert acknowledged.status_code == 200, acknowledged.text
        _wait_for(lambda: office_status() == "03", "the Office to see 03 (accepted)")
        submitted = httpx.post(
            f"{snv_reports}/v1/obligations/{mine['id']}/submissions",
            json={"data": {}},
            headers=officer,
            timeout=10,
        )
        assert submitted.status_code in (200, 201), submitted.text
        _wait_for(lambda: office_status() == "06", "the Office to see 06 (done)")

        # The department's clerk issues a reply that answers the letter, and dispatches it.
        drafter = stack_headers(snv_var, "nguyen-van-nam", ["drafter"], "SNV")
        director = stack_headers(snv_var, "ho-thi-lan", ["signer"], "SNV")
        reply_body = {
            **seed_letter(),
            "subject": "báo cáo kết quả theo dõi, chia sẻ Kênh thông tin chính thức trên mạng xã hội",
            "addressees": [{"unit": "VPUB"}],
            "info_recipients": [{"as_above": True}],
            "signer_id": "ho-thi-lan",
            "drafting_unit": "VP",
            "archive_line": "Lưu: VT, VP.",
            "compliance": None,
        }

        # Linked while a draft: the dispatch worker sends an issued document at once, and a package
        # already sent cannot gain its ResponseFor.
        draft = _drafted(snv, reply_body, drafter)
        linked = httpx.post(
            f"{snv}/v1/edxml/received/{letter['id']}/reply",
            json={"directive_id": draft["id"]},
            headers=drafter,
            timeout=10,
        )
        assert linked.status_code == 200, linked.text
        reply = _issued(snv, draft, drafter, director, snv_clerk)
        current = httpx.get(f"{snv}/v1/directives/{reply['id']}", headers=snv_clerk, timeout=10).json()
        if current["status"] == "issued":
            dispatched = httpx.post(
                f"{snv}/v1/directives/{reply['id']}/dispatch",
                headers={**snv_clerk, "If-Match": current["etag"]},
                timeout=300,
            )
            # The dispatch worker may have sent it between the read and the request (dispatch is due
            # at issue): either way the reply is dispatched.
            assert dispatched.status_code == 200 or dispatched.json().get("current_status") == "dispatched", (
                dispatched.text
            )

        def reply_linked() -> list[dict[str, Any]]:
            return [
                e
                for e in _events(office, monitor)
                if e["type"] == "delivery.reply_received" and e["data"]["unit_code"] == "SNV"
            ]

        _wait_for(lambda: len(reply_linked()) == 1, "the Office to link the reply to the delivery")
        (linked_event,) = reply_linked()
        assert linked_event["data"]["directive"]["id"] == doc["id"]
        assert linked_event["data"]["reply"]["code"] == current["notation"]
        moves = [
            e["data"]["status"]
            for e in _events(office, monitor)
            if e["type"] == "delivery.status_changed" and e["data"]["unit_code"] == "SNV"
        ]
        assert moves == ["01", "03", "06"]

        # The Office answers the reply in turn: the department's delivery to the Office shows 03.
        def snv_delivery() -> str:
            response = httpx.get(f"{snv}/v1/directives/{reply['id']}/recipients", headers=snv_clerk, timeout=10)
            status: str = next(i for i in response.json()["items"] if i["unit_code"] == "VPUB")["status"]
            return status

        _wait_for(lambda: snv_delivery() == "03", "the department to see the Office's 03")
    finally:
        run_local.stop(processes)
