"""Reading a unit shows every field the directory's administrators write (docs/api.md "Unit
fields"): none of them is confidential, the letterhead lines and the place name are printed on the
documents the unit issues."""

from __future__ import annotations

import httpx
from directive_testing import Actors

WRITTEN = {
    "letterhead_parent": "UBND THÀNH PHỐ CẦN THƠ",
    "letterhead_name": "SỞ NỘI VỤ",
    "place_name": "Cần Thơ",
    "note": "Tiếp nhận chức năng của Sở Lao động - Thương binh và Xã hội từ 01/3/2025.",
}


async def test_a_unit_reads_back_every_field_written(client: httpx.AsyncClient, actors: Actors) -> None:
    admin = actors.tokens.headers("quan-tri-vien", ["admin"], "VPUB")
    changed = await client.patch("/v1/orgs/SNV", json=WRITTEN, headers={**admin, "If-Match": '"1"'})
    assert changed.status_code == 200, changed.text

    read = await client.get("/v1/orgs/SNV", headers=admin)
    assert read.status_code == 200, read.text
    assert read.json() == changed.json()
    assert {k: read.json()[k] for k in WRITTEN} == WRITTEN

    exported = await client.get("/v1/directory/export", headers=admin)
    [unit] = [u for u in exported.json()["units"] if u["code"] == "SNV"]
    assert {k: unit[k] for k in WRITTEN} == WRITTEN

    for headers in (actors.drafter, actors.unit_officer("SNV")):
        other = await client.get("/v1/orgs/SNV", headers=headers)
        assert {k: other.json()[k] for k in WRITTEN} == WRITTEN
    listed = await client.get("/v1/orgs", params={"group": "department"}, headers=actors.drafter)
    [snv] = [u for u in listed.json() if u["code"] == "SNV"]
    assert snv["place_name"] == "Cần Thơ"
    group = await client.get("/v1/org-groups/department", headers=actors.drafter)
    assert [u["letterhead_name"] for u in group.json()["units"] if u["code"] == "SNV"] == ["SỞ NỘI VỤ"]
