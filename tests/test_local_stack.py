"""The README's run command: both services as real processes over HTTP, and the seed walk."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import run_local
from stack_testing import PDF_WORKERS, dispatch_walked_letter, free_port, stack_headers

from common.edxml import (
    Organization,
    build_status_package,
    make_status_package,
    parse_document_package,
    response_for_document,
)
from common.vxp.client import VxpClient
from directive_api.cli.walk import tokens as walk_tokens
from directive_api.cli.walk import walk_seed_letter

pytestmark = pytest.mark.slow  # real processes of both services (a whole stack)


def test_embedded_stack_walks_the_seed_letter(tmp_path: Path) -> None:
    var = tmp_path / "var"
    directive_port, report_port, vxp_port = free_port(), free_port(), free_port()
    processes = run_local.start(
        var, directive_port=directive_port, report_port=report_port, vxp_port=vxp_port, pdf_workers=PDF_WORKERS
    )
    try:
        assert (var / "keys" / "jwt-private.pem").exists()
        assert (var / "directive-api.db").exists()
        out = io.StringIO()
        assert walk_seed_letter(f"http://127.0.0.1:{directive_port}", var / "keys", out=out) == 0
        text = out.getvalue()
        assert "✓ Số: 01/VPUB-TTĐH" in text
        assert "history: create → submit → return → edit → submit → approve → issue" in text
        report = httpx.get(f"http://127.0.0.1:{report_port}/openapi.json", timeout=10)
        assert report.json()["info"]["title"] == "report-api"
        doc = _dispatch_and_follow(var, directive_port, report_port)
        asyncio.run(_through_the_exchange(var, directive_port, vxp_port, doc))
        unauthenticated = httpx.get(f"http://127.0.0.1:{directive_port}/v1/directives", timeout=10)
        assert unauthenticated.status_code == 401
        assert unauthenticated.headers["content-type"] == "application/problem+json"
    finally:
        run_local.stop(processes)
    # A second start reuses keys and data: the next issued letter gets number 02.
    processes = run_local.start(var, directive_port=directive_port, report_port=report_port, pdf_workers=PDF_WORKERS)
    try:
        out = io.StringIO()
        walk_seed_letter(f"http://127.0.0.1:{directive_port}", var / "keys", out=out)
        assert "✓ Số: 02/VPUB-TTĐH" in out.getvalue()
    finally:
        run_local.stop(processes)


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


async def _through_the_exchange(var: Path, directive_port: int, vxp_port: int, doc: dict[str, Any]) -> None:
    """The letter leaves through the hub double (another process); Sở Nội vụ's system finds it there
    with 130 organ ids and answers 01, 03, 06 out of order; the Office's delivery ends at 06."""
    secret = (var / "keys" / "vxp-snv.secret").read_text().strip()
    clerk = {"Authorization": f"Bearer {walk_tokens(var / 'keys')['vo-thi-thu']}"}
    async with httpx.AsyncClient(timeout=10) as http:
        department = VxpClient(f"http://127.0.0.1:{vxp_port}", "vxp.snv", secret, http)
        deadline = time.monotonic() + 60
        while not (waiting := await department.received("edoc")):
            assert time.monotonic() < deadline, "the letter never reached the hub"
            await asyncio.sleep(0.25)
        (knobstick,) = waiting
        assert knobstick.sender == run_local.OFFICE_ORGAN_ID
        package = parse_document_package(await department.fetch(knobstick.doc_id))
        assert len({r.organ_id for r in package.header.recipients}) == 130
        await department.acknowledge(knobstick.doc_id, "done")
        sender = Organization(organ_id=run_local.DEPARTMENT_ORGAN_ID, organ_name="Sở Nội vụ")
        for code, minute in (("06", 30), ("01", 0), ("03", 5)):
            status = make_status_package(
                sender=sender,
                document=response_for_document(package),
                status_code=code,
                timestamp=datetime(2026, 12, 1, 9, minute),
            )
            await department.send(build_status_package(status), sender=sender.organ_id, message_type="status")
        base = f"http://127.0.0.1:{directive_port}"

        async def snv() -> str:
            response = await http.get(f"{base}/v1/directives/{doc['id']}/recipients", headers=clerk)
            status: str = next(i for i in response.json()["items"] if i["unit_code"] == "SNV")["status"]
            return status

        while await snv() != "06":
            assert time.monotonic() < deadline + 60, "the statuses never reached the delivery"
            await asyncio.sleep(0.25)
        await asyncio.sleep(1)  # the late 01 and 03 were applied too, and moved nothing back
        assert await snv() == "06"


def _dispatch_and_follow(var: Path, directive_port: int, report_port: int) -> dict[str, Any]:
    """Dispatch the issued letter; report-api (another process) gets the obligations over real HTTP,
    a ward acknowledges, and directive-api's delivery shows it."""
    tokens = walk_tokens(var / "keys")
    directive = f"http://127.0.0.1:{directive_port}"
    report = f"http://127.0.0.1:{report_port}"
    clerk = {"Authorization": f"Bearer {tokens['vo-thi-thu']}"}
    monitor = {"Authorization": f"Bearer {tokens['dang-minh-khoa']}"}
    doc = dispatch_walked_letter(directive, directive, clerk)

    def compliance() -> dict[str, Any]:
        response = httpx.get(f"{report}/v1/directives/{doc['id']}/compliance", headers=monitor, timeout=10)
        return response.json() if response.status_code == 200 else {}

    _wait_for(lambda: compliance().get("total") == 122, "report-api to hold 122 obligations")
    ward = stack_headers(var, "officer-x31299", ["unit_officer"], "X31299")
    inbox = httpx.get(f"{report}/v1/me/obligations", headers=ward, timeout=10).json()
    mine = [o for o in inbox["items"] if o["directive"]["id"] == doc["id"]]
    assert len(mine) == 1
    acknowledged = httpx.post(f"{report}/v1/obligations/{mine[0]['id']}/acknowledge", headers=ward, timeout=10)
    assert acknowledged.status_code == 200, acknowledged.text

    def ward_delivery() -> dict[str, Any]:
        items = httpx.get(f"{directive}/v1/directives/{doc['id']}/recipients", headers=clerk, timeout=10).json()[
            "items"
        ]
        return next(i for i in items if i["unit_code"] == "X31299")

    _wait_for(
        lambda: ward_delivery()["compliance_status"] == "acknowledged", "directive-api to see the acknowledgement"
    )
    assert ward_delivery()["status"] == "03"
    return doc
