"""The seed letter from draft to issue, through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

from directive_testing import Actors, Api


async def test_seed_letter_goes_from_draft_to_issued_with_first_number(
    api: Api, actors: Actors, letter: dict[str, Any]
) -> None:
    doc = await api.create(letter)
    assert doc["status"] == "draft"
    assert doc["number_line"] == "Số:    /VPUB-TTĐH"
    assert doc["number"] is None and doc["issued_on"] is None
    assert doc["signature_title_lines"] == ["KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG"]
    assert doc["signer_name"] == "Lê Xuân Hoa"

    doc = await api.advance(doc, "submit", actors.drafter)
    assert doc["status"] == "submitted"
    doc = await api.advance(doc, "return", actors.reviewer, comment="Bổ sung thời hạn báo cáo.")
    assert doc["status"] == "returned"

    edit = await api.client.patch(
        f"/v1/directives/{doc['id']}",
        json={"archive_line": "Lưu: VT, AN."},
        headers={**actors.drafter, "If-Match": doc["etag"]},
    )
    assert edit.status_code == 200, edit.text
    doc = edit.json()
    assert edit.headers["ETag"] == doc["etag"]

    doc = await api.advance(doc, "submit", actors.drafter)
    doc = await api.advance(doc, "approve", actors.signer)
    assert doc["status"] == "approved" and doc["approved_by"] == "le-xuan-hoa"
    doc = await api.advance(doc, "issue", actors.clerk)

    assert doc["status"] == "issued"
    assert doc["number"] == 1
    assert doc["notation"] == "01/VPUB-TTĐH"
    assert doc["number_line"] == "Số: 01/VPUB-TTĐH"
    assert doc["issued_on"] == "2026-11-27"
    assert doc["place_date_line"] == "Cần Thơ, ngày 27 tháng 11 năm 2026"

    history = await api.history(doc["id"])
    assert [h["action"] for h in history] == [
        "create",
        "submit",
        "return",
        "edit",
        "submit",
        "approve",
        "issue",
    ]
    assert history[2]["comment"] == "Bổ sung thời hạn báo cáo."
    assert history[2]["actor_id"] == "pham-thi-binh"
    assert [h["version"] for h in history] == list(range(1, 8))

    register = await api.client.get("/v1/registers/VPUB/HC/2026", headers=actors.clerk)
    assert register.status_code == 200, register.text
    entries = register.json()["entries"]
    assert [(e["number"], e["notation"]) for e in entries] == [(1, "01/VPUB-TTĐH")]


def test_seed_fixture_reproduces_the_letter(letter: dict[str, Any]) -> None:
    # The letter's text ships beside the tests; its first line (a "# " comment) names its source.
    source = Path(__file__).resolve().parents[1] / "fixtures/cong-van-vpub-ttdh-2025-11.txt"
    text = unicodedata.normalize("NFC", source.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("# ")]
    assert "V/v " + letter["subject"] == " ".join(lines[2:7])
    body_texts = [b.get("text") or "- " + b["label"] for b in letter["body"]]
    expected = [line.replace("<", "").replace(">", "") for line in lines[11:20]]
    assert body_texts == expected
    qr_urls = [b["url"] for b in letter["body"] if b["kind"] == "qr"]
    assert qr_urls == ["https://www.facebook.com/congthongtincantho", "https://zalo.me/3460461954401350861"]
    assert letter["signer_id"] == "le-xuan-hoa"
    assert letter["archive_line"] == "Lưu: VT, AN."
    assert [a["group"] for a in letter["addressees"]] == [
        "department",
        "socio_political_org",
        "commune_level",
    ]


# The shipped unit list is a verbatim copy of the product brief's list; its digest at the time of
# copying is recorded here, so an edit of the copy is a deliberate change of this line too.
SHIPPED_UNITS_SHA256 = "d27f7be5f5118fea53bd7a94145e37b114121b0f9b70610bd6548fbfc7aa06d4"


def test_shipped_unit_list_is_the_copied_seed() -> None:
    shipped = Path(__file__).resolve().parents[2] / "src/directive_api/seed/can-tho-units.json"
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == SHIPPED_UNITS_SHA256
    units = json.loads(shipped.read_text(encoding="utf-8"))["units"]
    groups = Counter(unit["group"] for unit in units)
    # 103 commune-level People's Committees after the 1 July 2025 reorganisation (31 wards, 72 communes).
    assert groups["commune_level"] == 103
    assert groups["department"] == 13 and groups["socio_political_org"] == 6
    assert len({unit["code"] for unit in units}) == len(units)
