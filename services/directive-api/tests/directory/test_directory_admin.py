"""Directory administration over REST: the Office's admins change units, groups and people with
ETags, every change is in the history, entries in use are retired rather than deleted, and the
directory goes out and comes back as JSON or CSV."""

from __future__ import annotations

from typing import Any

import httpx
from directive_testing import Actors, Api

from common.pdf.verify import verify_pdf_async


def _admin(actors: Actors) -> dict[str, str]:
    return actors.tokens.headers("quan-tri-vien", ["admin"], "VPUB")


async def _changes(client: httpx.AsyncClient, actors: Actors, **query: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/directory/changes", params=query, headers=_admin(actors))
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()
    return data


async def test_only_the_offices_admins_change_the_directory(client: httpx.AsyncClient, actors: Actors) -> None:
    unit = {"code": "BQLKCN", "name": "Ban Quản lý các khu chế xuất và công nghiệp", "kind": "department"}
    for headers in (
        actors.drafter,
        actors.tokens.headers("admin-snv", ["admin"], "SNV"),
        actors.unit_officer("SNV"),
    ):
        refused = await client.post("/v1/orgs", json=unit, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"].endswith("/not-directory-admin")
    assert (await client.get("/v1/orgs/BQLKCN", headers=actors.drafter)).status_code == 404
    assert (await client.get("/v1/directory/changes", headers=actors.drafter)).status_code == 403
    auditor = actors.tokens.headers("kiem-toan", ["auditor"], "VPUB")
    assert (await client.get("/v1/directory/changes", headers=auditor)).status_code == 200


async def test_a_unit_is_created_changed_with_etags_and_kept_in_the_history(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    admin = _admin(actors)
    body = {
        "code": "BQLKCN",
        "name": "Ban Quản lý các khu chế xuất và công nghiệp",
        "kind": "department",
        "group_code": "department",
        "parent_code": "UBND-TP",
    }
    created = await client.post("/v1/orgs", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"' and created.headers["Location"] == "/v1/orgs/BQLKCN"
    assert created.json()["short_name"] == body["name"] and created.json()["is_active"] is True
    duplicate = await client.post("/v1/orgs", json=body, headers=admin)
    assert duplicate.status_code == 409 and duplicate.json()["type"].endswith("/directory-entry-exists")

    read = await client.get("/v1/orgs/BQLKCN", headers=actors.drafter)
    assert read.headers["ETag"] == '"1"'
    change = {"short_name": "Ban Quản lý KCX-CN", "notation": "BQL"}
    assert (await client.patch("/v1/orgs/BQLKCN", json=change, headers=admin)).status_code == 428
    stale = await client.patch("/v1/orgs/BQLKCN", json=change, headers={**admin, "If-Match": '"7"'})
    assert stale.status_code == 412
    changed = await client.patch("/v1/orgs/BQLKCN", json=change, headers={**admin, "If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == '"2"' and changed.json()["notation"] == "BQL"

    history = await _changes(client, actors, kind="unit", key="BQLKCN")
    assert [h["action"] for h in history] == ["update", "create"]
    assert history[0]["before"]["short_name"] == body["name"]
    assert history[0]["after"]["short_name"] == "Ban Quản lý KCX-CN"
    assert history[0]["version"] == 2 and history[0]["actor_id"] == "quan-tri-vien"


async def test_bad_changes_are_problems_and_change_nothing(client: httpx.AsyncClient, actors: Actors) -> None:
    admin = _admin(actors)
    unknown_group = await client.post(
        "/v1/orgs", json={"code": "X1", "name": "Đơn vị thử", "kind": "ward", "group_code": "nope"}, headers=admin
    )
    assert unknown_group.status_code == 422
    assert unknown_group.headers["content-type"] == "application/problem+json"
    assert unknown_group.json()["errors"] == [{"location": ["body", "group_code"], "message": "unknown group nope"}]
    null_name = await client.patch("/v1/orgs/SNV", json={"name": None}, headers={**admin, "If-Match": '"1"'})
    assert null_name.status_code == 422
    bad_block = await client.post(
        "/v1/people",
        json={
            "id": "x",
            "full_name": "Người Thử",
            "unit_code": "VPUB",
            "position": "Chuyên viên",
            "roles": ["signer"],
            "signature_titles": {"TM.": ["CHỦ TỊCH"]},
        },
        headers=admin,
    )
    assert bad_block.status_code == 422
    unknown_unit = await client.post(
        "/v1/people",
        json={"id": "x", "full_name": "Người Thử", "unit_code": "NOPE", "position": "Chuyên viên", "roles": []},
        headers=admin,
    )
    assert unknown_unit.status_code == 422
    assert (await client.get("/v1/orgs/X1", headers=admin)).status_code == 404
    assert (await client.get("/v1/people/x", headers=admin)).status_code == 404
    assert (await client.get("/v1/orgs/SNV", headers=admin)).json()["name"] == "Sở Nội vụ"
    assert await _changes(client, actors) == []


async def test_a_unit_in_use_is_retired_not_deleted(
    client: httpx.AsyncClient, actors: Actors, api: Api, letter: dict[str, Any]
) -> None:
    admin = _admin(actors)
    await api.create({**letter, "addressees": [{"unit": "SNV"}]})
    for code in ("VPUB", "SNV"):
        refused = await client.delete(f"/v1/orgs/{code}", headers={**admin, "If-Match": '"1"'})
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"].endswith("/unit-in-use") and refused.json()["uses"]
    assert (await client.get("/v1/orgs/SNV", headers=admin)).status_code == 200

    retired = await client.patch("/v1/orgs/SNV", json={"is_active": False}, headers={**admin, "If-Match": '"1"'})
    assert retired.status_code == 200 and retired.json()["is_active"] is False
    listed = await client.get("/v1/orgs", params={"group": "department"}, headers=actors.drafter)
    assert "SNV" not in [u["code"] for u in listed.json()]
    assert (await _changes(client, actors, key="SNV"))[0]["action"] == "retire"

    unused = await client.post("/v1/orgs", json={"code": "TAM", "name": "Đơn vị tạm", "kind": "ward"}, headers=admin)
    assert unused.status_code == 201
    deleted = await client.delete("/v1/orgs/TAM", headers={**admin, "If-Match": '"1"'})
    assert deleted.status_code == 204
    assert (await client.get("/v1/orgs/TAM", headers=admin)).status_code == 404
    assert (await _changes(client, actors, key="TAM"))[0]["action"] == "delete"

    # A retired issuer drafts nothing new.
    vpub = (await client.get("/v1/orgs/VPUB", headers=admin)).headers["ETag"]
    await client.patch("/v1/orgs/VPUB", json={"is_active": False}, headers={**admin, "If-Match": vpub})
    refused_draft = await client.post("/v1/directives", json=letter, headers=actors.drafter)
    assert refused_draft.status_code == 422


async def test_groups_are_administered_and_a_group_with_units_stays(client: httpx.AsyncClient, actors: Actors) -> None:
    admin = _admin(actors)
    created = await client.post("/v1/org-groups", json={"code": "hospital", "name": "Các bệnh viện"}, headers=admin)
    assert created.status_code == 201 and created.json()["is_addressable"] is True
    renamed = await client.patch(
        "/v1/org-groups/hospital", json={"name": "Các bệnh viện thành phố"}, headers={**admin, "If-Match": '"1"'}
    )
    assert renamed.status_code == 200 and renamed.headers["ETag"] == '"2"'
    in_use = await client.delete("/v1/org-groups/department", headers={**admin, "If-Match": '"1"'})
    assert in_use.status_code == 409 and in_use.json()["type"].endswith("/group-in-use")
    assert (await client.delete("/v1/org-groups/hospital", headers={**admin, "If-Match": '"2"'})).status_code == 204


async def test_an_administered_person_signs_with_their_own_development_certificate(
    client: httpx.AsyncClient, actors: Actors, api: Api, letter: dict[str, Any], pki_dir: Any
) -> None:
    admin = _admin(actors)
    person = {
        "id": "ho-van-minh",
        "full_name": "Hồ Văn Minh",
        "unit_code": "VPUB",
        "position": "Phó Chánh Văn phòng",
        "roles": ["signer"],
        "signature_title_lines": ["KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG"],
        "signature_titles": {"KT.": ["KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG"]},
    }
    created = await client.post("/v1/people", json=person, headers=admin)
    assert created.status_code == 201, created.text
    read = await client.get("/v1/people/ho-van-minh", headers=actors.drafter)
    assert read.json()["signature_titles"] == person["signature_titles"] and read.headers["ETag"] == '"1"'

    doc = await api.create({**letter, "signer_id": "ho-van-minh", "signing_authority": "KT."})
    doc = await api.advance(doc, "submit", actors.drafter)
    signer = actors.tokens.headers("ho-van-minh", ["signer"], "VPUB")
    doc = await api.advance(doc, "approve", signer)
    assert doc["status"] == "approved"
    signed = await client.get(f"/v1/directives/{doc['id']}/pdf", headers=signer)
    root = (pki_dir / "root-ca.pem").read_bytes()
    report = await verify_pdf_async(signed.content, [root])
    [signature] = report.signatures
    assert signature.signer_common_name == "Hồ Văn Minh"
    assert signature.trusted and signature.timestamp_present

    pending = await api.advance(await api.create({**letter, "signer_id": "ho-van-minh"}), "submit", actors.drafter)
    # Named by a document: retired, not deleted; a retired person is chosen as signer no more.
    in_use = await client.delete("/v1/people/ho-van-minh", headers={**admin, "If-Match": '"1"'})
    assert in_use.status_code == 409 and in_use.json()["type"].endswith("/person-in-use")
    retired = await client.patch(
        "/v1/people/ho-van-minh", json={"is_active": False}, headers={**admin, "If-Match": '"1"'}
    )
    assert retired.status_code == 200
    refused = await client.post("/v1/directives", json={**letter, "signer_id": "ho-van-minh"}, headers=actors.drafter)
    assert refused.status_code == 422
    # … nor signs what was waiting for them: the draft stays submitted until another signer is chosen.
    not_signed = await api.act(pending, "approve", signer)
    assert not_signed.status_code == 409 and not_signed.json()["type"].endswith("/signer-retired")
    assert (await api.get(pending["id"], actors.drafter)).json()["status"] == "submitted"


async def test_the_directory_goes_out_and_comes_back_as_json_and_csv(client: httpx.AsyncClient, actors: Actors) -> None:
    admin = _admin(actors)
    exported = await client.get("/v1/directory/export", headers=admin)
    assert exported.status_code == 200
    document = exported.json()
    assert {u["code"] for u in document["units"]} >= {"VPUB", "UBND-TP", "X31299"}
    assert any(p["id"] == "nguyen-thanh-long" for p in document["people"])
    # The export imports back as it is: nothing changes.
    again = await client.post("/v1/directory/import", json=document, headers=admin)
    assert again.status_code == 200, again.text
    assert again.json() == {
        "created": 0,
        "updated": 0,
        "unchanged": len(document["units"]) + len(document["groups"]) + len(document["people"]),
    }

    csv_units = await client.get("/v1/directory/export", params={"format": "csv", "kind": "units"}, headers=admin)
    assert csv_units.headers["content-type"].startswith("text/csv")
    lines = csv_units.text.splitlines()
    assert lines[0].startswith("code,name,")
    assert any(line.startswith("UBND-TP,Ủy ban nhân dân thành phố Cần Thơ,") for line in lines)
    header = lines[0].split(",")
    row = dict.fromkeys(header, "")
    row.update({"code": "SNV", "name": "Sở Nội vụ thành phố Cần Thơ"})
    edited = ",".join(header) + "\r\n" + ",".join(row[c] for c in header) + "\r\n"
    imported = await client.post(
        "/v1/directory/import",
        params={"kind": "units"},
        content=edited.encode(),
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"created": 0, "updated": 1, "unchanged": 0}
    snv = await client.get("/v1/orgs/SNV", headers=admin)
    assert snv.json()["name"] == "Sở Nội vụ thành phố Cần Thơ" and snv.json()["short_name"] == "Sở Nội vụ"
    assert (await _changes(client, actors, key="SNV"))[0]["action"] == "import"

    people_csv = "id,full_name,unit_code,position,roles,signature_title_lines\r\n" + (
        'pham-van-tam,Phạm Văn Tâm,UBND-TP,Phó Chủ tịch,"[""signer""]","[""KT. CHỦ TỊCH"", ""PHÓ CHỦ TỊCH""]"\r\n'
    )
    created = await client.post(
        "/v1/directory/import",
        params={"kind": "people"},
        content=people_csv.encode(),
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert created.status_code == 200, created.text and created.json()["created"] == 1
    tam = (await client.get("/v1/people/pham-van-tam", headers=admin)).json()
    assert tam["signature_title_lines"] == ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"] and tam["roles"] == ["signer"]


async def test_a_bad_import_changes_nothing(client: httpx.AsyncClient, actors: Actors) -> None:
    admin = _admin(actors)
    document = {
        "units": [
            {"code": "SNV", "name": "Sở Nội vụ (đổi)", "kind": "department"},
            {"code": "MOI", "name": "Đơn vị mới", "kind": "ward", "group_code": "khong-co"},
        ]
    }
    refused = await client.post("/v1/directory/import", json=document, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"location": ["body", "units", "1", "group_code"], "message": "unknown group khong-co"}
    ]
    assert (await client.get("/v1/orgs/SNV", headers=admin)).json()["name"] == "Sở Nội vụ"
    assert (await client.get("/v1/orgs/MOI", headers=admin)).status_code == 404
    for body, media in (
        (b"code,bogus\r\nSNV,1\r\n", "text/csv"),
        (b"\xff\xfe", "text/csv"),
        (b"{", "application/json"),
    ):
        bad = await client.post(
            "/v1/directory/import", params={"kind": "units"}, content=body, headers={**admin, "Content-Type": media}
        )
        assert bad.status_code == 422, bad.text
        assert bad.headers["content-type"] == "application/problem+json"
    xml = await client.post(
        "/v1/directory/import", content=b"<x/>", headers={**admin, "Content-Type": "application/xml"}
    )
    assert xml.status_code == 415
    assert await _changes(client, actors) == []


async def test_of_two_concurrent_changes_the_second_is_refused(database_url: str) -> None:
    """Two administrators read version 1 of a unit and change it: the change written second is
    conditional on the version it read (``WHERE version = 1``) and is refused with 412, not lost."""
    from datetime import UTC, datetime

    from common.auth import Principal
    from common.db import create_engine, create_sessionmaker
    from common.problems import PreconditionFailedError
    from directive_api.directory import service
    from directive_api.directory.schemas import UnitFields

    admin = Principal(subject="quan-tri-vien", name="Quản trị", roles=frozenset({"admin"}), unit="VPUB")
    now = datetime(2026, 12, 2, tzinfo=UTC)
    engine = create_engine(database_url)
    maker = create_sessionmaker(engine)
    try:
        async with maker() as first, maker() as second:
            # The second administrator's request has read version 1 and checked If-Match …
            stale = await service.get(second, service.UNIT, "SNV")
            assert stale.version == 1
            await second.commit()  # (SQLite lets one transaction at a time in)
            # … when the first one's change commits.
            await service.update(
                first, service.UNIT, "SNV", UnitFields(short_name="Sở Nội vụ TP"), actor=admin, if_match='"1"', now=now
            )
            await first.commit()
            stale.note = "ghi chú"
            stale.version += 1
            try:
                await service._flush_or_stale(second, service.UNIT, "SNV")
            except PreconditionFailedError:
                await second.rollback()
            else:
                raise AssertionError("the second change was written over the first")
        async with maker() as check:
            unit = await service.get(check, service.UNIT, "SNV")
            assert (unit.version, unit.short_name, unit.note) == (2, "Sở Nội vụ TP", None)
    finally:
        await engine.dispose()
