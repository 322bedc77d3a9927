"""``make run``'s exchange hub lets the Office's directive-api send for every unit it issues for: a
UBND-TP letter (sender 000.00.00.H13) leaves through the hub on the Office's one credential, as a
VPUB letter does, and reaches the addressed department."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import run_local
from stack_testing import free_port

from common.edxml import Organization, build_document_package, parse_document_package
from common.vxp import VxpError
from common.vxp.client import VxpClient
from directive_api.seed.loader import ISSUERS

SAMPLE = Path(__file__).resolve().parents[1] / "libs" / "common" / "tests" / "edxml" / "samples" / "edoc_new.edxml"
CITY = "000.00.00.H13"  # UBND-TP's organ id (the unit list's own)


@pytest.fixture(autouse=True)
def _keys(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()  # run_local's state folder keeps the member secrets there


def _letter(sender: Organization) -> bytes:
    sample = parse_document_package(SAMPLE.read_bytes())
    header = sample.header.model_copy(
        update={
            "sender": sender,
            "recipients": (Organization(organ_id=run_local.DEPARTMENT_ORGAN_ID, organ_name="Sở Nội vụ"),),
            "document_id": None,
        }
    )
    return build_document_package(sample.model_copy(update={"header": header}))


def test_every_issuer_of_the_seed_is_a_sender_of_the_offices_member_system(tmp_path: Path) -> None:
    agencies = json.loads(run_local.hub_agencies(tmp_path).read_text())["agencies"]
    office = next(a for a in agencies if a["system_id"] == "vxp.vpub")
    units = {
        u["code"]: u for u in json.loads((run_local.SEED / "can-tho-units.json").read_text(encoding="utf-8"))["units"]
    }
    assert set(ISSUERS) == {"VPUB", "UBND-TP"}
    assert units["UBND-TP"]["organ_id"] == CITY
    assert office["organ_ids"] == [run_local.OFFICE_ORGAN_ID, CITY]


async def test_a_ubnd_tp_letter_leaves_through_the_hub_of_make_run(tmp_path: Path) -> None:
    port = free_port()
    hub = subprocess.Popen(
        [
            *(sys.executable, "-m", "common.vxp.hub", "--port", str(port)),
            *("--store", str(tmp_path / "store"), "--agencies", str(run_local.hub_agencies(tmp_path))),
        ]
    )
    try:
        run_local.wait_ready(f"http://127.0.0.1:{port}/healthz", timeout=30)
        office_secret = (tmp_path / "keys" / "vxp-vpub.secret").read_text().strip()
        snv_secret = (tmp_path / "keys" / "vxp-snv.secret").read_text().strip()
        async with httpx.AsyncClient(timeout=10) as http:
            office = VxpClient(f"http://127.0.0.1:{port}", "vxp.vpub", office_secret, http)
            city = Organization(organ_id=CITY, organ_name="Ủy ban nhân dân thành phố Cần Thơ")
            await office.send(_letter(city), sender=CITY, message_type="edoc")
            department = VxpClient(f"http://127.0.0.1:{port}", "vxp.snv", snv_secret, http)
            (waiting,) = await department.received("edoc")
            assert waiting.sender == CITY
            # The Office's credential still speaks for no one else: another unit's id is refused.
            other = Organization(organ_id="000.00.03.H13", organ_name="Sở Tư pháp")
            with pytest.raises(VxpError, match="403"):
                await office.send(_letter(other), sender=other.organ_id, message_type="edoc")
    finally:
        hub.terminate()
        hub.wait(timeout=10)
