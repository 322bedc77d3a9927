"""Every unit carries an exchange identifier (organ id); packages are addressed with them only."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from directive_testing import Actors, Api, Clock
from fastapi import FastAPI
from sqlalchemy import func, select, text

from common.db import create_sessionmaker
from common.edxml import OrganIdFormat, classify_organ_id, parse_document_package
from directive_api.cli import main
from directive_api.deliveries.models import ExchangePackage
from directive_api.main import create_app
from directive_api.orgs.models import Unit
from directive_api.seed.loader import load_directory
from directive_api.settings import ExchangeSettings, SenderContact, Settings

OFFICE = "000.00.01.H13"


async def _dispatched(api: Api, actors: Actors, letter: dict[str, Any]) -> dict[str, Any]:
    issued = await api.advance(await api.approved(letter), "issue", actors.clerk)
    return await api.advance(issued, "dispatch", actors.clerk)


async def _units(app: FastAPI) -> dict[str, Unit]:
    async with create_sessionmaker(app.state.engine)() as session:
        return {u.code: u for u in (await session.scalars(select(Unit))).all()}


async def _packages(app: FastAPI) -> int:
    async with create_sessionmaker(app.state.engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(ExchangePackage)) or 0)


async def test_seed_gives_every_unit_a_national_format_identifier_marked_development(api: Api, actors: Actors) -> None:
    response = await api.client.get("/v1/orgs", headers=actors.clerk)
    units = response.json()
    assert len(units) == 132
    organ_ids = [u["organ_id"] for u in units]
    assert all(classify_organ_id(o) is OrganIdFormat.QCVN_102 for o in organ_ids), organ_ids
    assert len(set(organ_ids)) == len(organ_ids)
    official = {u["code"]: u["organ_id"] for u in units if not u["organ_id_development"]}
    assert official == {"UBND-TP": "000.00.00.H13"}
    office = next(u for u in units if u["code"] == "VPUB")
    assert (office["organ_id"], office["organ_id_development"]) == (OFFICE, True)


async def test_export_addresses_130_organ_ids_and_carries_the_kinh_gui_lines(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    doc = await _dispatched(api, actors, letter)
    response = await api.client.get(f"/v1/directives/{doc['id']}/edxml", headers=actors.clerk)
    assert response.status_code == 200, response.text
    package = parse_document_package(response.content)
    header = package.header
    organs = [r.organ_id for r in header.recipients]
    assert len(organs) == len(set(organs)) == 130
    assert all(classify_organ_id(o) is OrganIdFormat.QCVN_102 for o in organs)
    units = await _units(app)
    by_organ = {u.organ_id: u for u in units.values()}
    assert {by_organ[o].code for o in organs} >= {"SNV", "HCCB", "LĐLĐ", "SYT", "TU", "CTTĐT"}
    assert all(r.organ_name == by_organ[r.organ_id].name for r in header.recipients)
    assert header.to_places == (
        "Sở, ban ngành thành phố",
        "Các tổ chức chính trị - xã hội",
        "Ủy ban nhân dân xã, phường",
    )
    assert not [n for n in package.notes if "organisation id" in n.message]


async def test_export_to_units_without_an_organ_id_is_refused_with_the_list(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    doc = await _dispatched(api, actors, letter)
    async with app.state.engine.begin() as connection:
        await connection.execute(text("UPDATE units SET organ_id = NULL WHERE code IN ('SYT', 'LĐLĐ')"))
    before = await _packages(app)
    refused = await api.client.get(f"/v1/directives/{doc['id']}/edxml", headers=actors.clerk)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert sorted(u["code"] for u in problem["units"]) == ["LĐLĐ", "SYT"]
    assert {u["name"] for u in problem["units"]} == {"Sở Y tế", "Liên đoàn Lao động thành phố Cần Thơ"}
    assert await _packages(app) == before  # nothing recorded as sent

    partial = await api.client.get(
        f"/v1/directives/{doc['id']}/edxml", params={"only_with_organ_id": "true"}, headers=actors.clerk
    )
    assert partial.status_code == 200, partial.text
    assert len(parse_document_package(partial.content).header.recipients) == 128
    skipped = sorted(unquote(code) for code in partial.headers["Edxml-Skipped-Units"].split(","))
    assert skipped == ["LĐLĐ", "SYT"]
    assert await _packages(app) == before + 1

    async with app.state.engine.begin() as connection:
        await connection.execute(text("UPDATE units SET organ_id = NULL WHERE code = 'VPUB'"))
    issuer = await api.client.get(
        f"/v1/directives/{doc['id']}/edxml", params={"only_with_organ_id": "true"}, headers=actors.clerk
    )
    assert issuer.status_code == 422
    assert [(u["code"], u["role"]) for u in issuer.json()["units"]] == [("VPUB", "issuer")]


async def test_recalled_letter_is_not_exported_as_a_new_document(
    api: Api, actors: Actors, letter: dict[str, Any]
) -> None:
    doc = await _dispatched(api, actors, letter)
    await api.advance(doc, "recall", actors.clerk, comment="Sai đối tượng nhận.")
    again = await api.client.get(f"/v1/directives/{doc['id']}/edxml", headers=actors.clerk)
    assert again.status_code == 409
    assert "kind=revocation" in again.json()["detail"]
    revocation = await api.client.get(f"/v1/directives/{doc['id']}/edxml?kind=revocation", headers=actors.clerk)
    assert revocation.status_code == 200


async def test_replacement_lists_the_replaced_letters_recipients_by_organ_id(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    old = await _dispatched(api, actors, letter)
    new = await api.advance(await api.approved({**letter, "subject": "thay thế văn bản trước"}), "issue", actors.clerk)
    replaced = await api.client.post(
        f"/v1/directives/{old['id']}/replace",
        json={"replacement_id": new["id"]},
        headers={**actors.clerk, "If-Match": old["etag"]},
    )
    assert replaced.status_code == 200, replaced.text
    assert (await api.client.get(f"/v1/directives/{old['id']}/edxml", headers=actors.clerk)).status_code == 409
    response = await api.client.get(f"/v1/directives/{new['id']}/edxml?kind=replacement", headers=actors.clerk)
    assert response.status_code == 200, response.text
    package = parse_document_package(response.content)
    assert package.trace_header_list is not None
    (info,) = package.trace_header_list.business.replacement_info_list
    assert info.document_id.startswith(OFFICE + ",")
    units = await _units(app)
    assert len(info.organ_ids) == 130
    assert set(info.organ_ids) <= {u.organ_id for u in units.values()}


async def _cli(database_url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """The operator command as run from a shell (its own event loop, hence a thread here)."""
    monkeypatch.setenv("DIRECTIVE_API_DATABASE__URL", database_url)
    return await asyncio.to_thread(main, list(args))


async def test_csv_import_of_the_national_list(
    app: FastAPI, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    national = tmp_path / "national.csv"
    national.write_text(
        "organ_id,name\n"
        "000.00.00.G22,Văn phòng Chính phủ\n"  # not a unit of ours: skipped
        "000.00.20.H13,SỞ Y TẾ\n"  # matched by name, case and spacing ignored
        "000.00.21.H13,  Sở  Nội vụ \n",
        encoding="utf-8",
    )
    assert await _cli(database_url, monkeypatch, "import-organ-ids", str(national)) == 0
    units = await _units(app)
    assert (units["SYT"].organ_id, units["SYT"].organ_id_development) == ("000.00.20.H13", False)
    assert (units["SNV"].organ_id, units["SNV"].organ_id_development) == ("000.00.21.H13", False)
    # 000.00.21.H13 was a socio-political organisation's development id: it moved, the other has none now.
    assert [u.code for u in units.values() if u.organ_id is None] == ["MTTQ"]
    assert units["STP"].organ_id_development is True

    # The seed runs again at every start: an imported identifier is not put back to a development one.
    async with create_sessionmaker(app.state.engine)() as session, session.begin():
        await load_directory(session)
    units = await _units(app)
    assert (units["SYT"].organ_id, units["SYT"].organ_id_development) == ("000.00.20.H13", False)


VALID_ROW = "000.00.40.H13,STC\n"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("organ_id,unit_code\n" + VALID_ROW + "SYT,SYT\n", "is not an identifier of the form"),
        ("organ_id,unit_code\n" + VALID_ROW + "000.00.30.H13,NOPE\n", "no unit has the code"),
        ("organ_id,unit_code\n" + VALID_ROW + "000.00.30.H13,SYT\n000.00.30.H13,SNV\n", "given to both"),
        ("organ_id,unit_code\n" + VALID_ROW + "000.00.00.H13,SYT\n", "belongs to UBND-TP"),
        ("organ_id,name\n000.00.40.H13,Sở Tài chính\n000.00.30.H13,Sở Y tế\n", "fits several units (SYT, SYT2)"),
        ("code,name\n000.00.30.H13,Sở Y tế\n", "the header must name"),
    ],
)
async def test_csv_import_with_a_bad_row_changes_nothing(
    app: FastAPI,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str,
    problem: str,
) -> None:
    # A second unit of the same name: a name alone cannot say which one is meant.
    assert await _cli(database_url, monkeypatch, "add-unit", "SYT2", "--name", "Sở Y tế", "--kind", "department") == 0
    before = {code: (u.organ_id, u.organ_id_development) for code, u in (await _units(app)).items()}
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    assert await _cli(database_url, monkeypatch, "import-organ-ids", str(path)) == 1
    assert problem in " ".join(capsys.readouterr().out.split())
    after = {code: (u.organ_id, u.organ_id_development) for code, u in (await _units(app)).items()}
    assert after == before


async def test_export_carries_page_amount_steering_type_staff_and_the_parent_body(
    api: Api, actors: Actors, letter: dict[str, Any], tmp_path: Path
) -> None:
    doc = await _dispatched(api, actors, letter)
    response = await api.client.get(f"/v1/directives/{doc['id']}/edxml", headers=actors.clerk)
    package = parse_document_package(response.content)
    header = package.header
    pdf = tmp_path / "issued.pdf"
    pdf.write_bytes((await api.client.get(f"/v1/directives/{doc['id']}/pdf", headers=actors.clerk)).content)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True, timeout=60).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert header.other_info is not None
    assert header.other_info.page_amount == pages
    assert header.steering_type == 1  # it asks every addressee to act and report
    assert header.document_type is not None
    assert (header.document_type.type, header.document_type.type_detail) == (1, 0)
    assert header.sender.organization_in_charge == "Ủy ban nhân dân thành phố Cần Thơ"
    assert package.trace_header_list is not None
    staff = package.trace_header_list.business.staff_info
    assert staff is not None
    assert (staff.staff, staff.department) == ("Võ Thị Thu", "HCTC")
    plain = {k: v for k, v in letter.items() if k != "compliance"}
    second = await _dispatched(api, actors, {**plain, "subject": "thông báo lịch tiếp công dân"})
    other = parse_document_package(
        (await api.client.get(f"/v1/directives/{second['id']}/edxml", headers=actors.clerk)).content
    )
    assert other.header.steering_type == 0


async def test_from_carries_the_configured_contact_details(
    settings: Settings, clock: Clock, actors: Actors, letter: dict[str, Any]
) -> None:
    contact = SenderContact(
        address="Số 2 Hòa Bình, phường Ninh Kiều, thành phố Cần Thơ",
        email="vpubnd@cantho.gov.vn",
        telephone="0292 3820 000",
        website="https://cantho.gov.vn",
    )
    app = create_app(
        settings.model_copy(update={"exchange": ExchangeSettings(contacts={"VPUB": contact})}), clock=clock
    )
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://directive-api.test") as client:
            api = Api(client, actors)
            doc = await _dispatched(api, actors, letter)
            response = await client.get(f"/v1/directives/{doc['id']}/edxml", headers=actors.clerk)
        sender = parse_document_package(response.content).header.sender
        assert (sender.organ_add, sender.email, sender.telephone, sender.fax, sender.website) == (
            contact.address,
            contact.email,
            contact.telephone,
            None,
            contact.website,
        )
    finally:
        await app.state.engine.dispose()
