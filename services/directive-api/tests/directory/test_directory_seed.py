"""Seeding fills an empty directory, then only adds what the directory never had: it never
overwrites, revives or re-adds what an administrator changed, retired or deleted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from common.db import create_engine, create_sessionmaker, transaction
from directive_api.cli import seed
from directive_api.orgs.models import DirectorySeedMark, Unit, UnitGroup
from directive_api.people.models import Person
from directive_api.seed.loader import read_json


async def _snapshot(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            units = {u.code: (u.name, u.notation, u.is_active) for u in (await session.scalars(select(Unit))).all()}
            people = {p.id: p.as_dict() for p in (await session.scalars(select(Person))).all()}
            groups = {g.code: g.name for g in (await session.scalars(select(UnitGroup))).all()}
            return {"units": units, "people": people, "groups": groups}
    finally:
        await engine.dispose()


async def _change(url: str, *statements: Any) -> None:
    engine = create_engine(url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            for statement in statements:
                await session.execute(statement)
    finally:
        await engine.dispose()


async def test_a_seeded_database_holds_the_whole_seed(database_url: str) -> None:
    state = await _snapshot(database_url)
    assert len(state["units"]) == len(read_json("can-tho-units.json")["units"])
    assert set(state["people"]) == {p["id"] for p in read_json("people.json")}
    assert state["units"]["UBND-TP"][1] == "UBND" and state["units"]["VPUB"][1] == "VPUB"
    # Seeding again adds nothing and changes nothing.
    assert await seed(database_url) == {"groups": 0, "units": 0, "people": 0}
    assert await _snapshot(database_url) == state


async def test_seeding_keeps_what_an_administrator_changed(database_url: str) -> None:
    await _change(
        database_url,
        update(Unit).where(Unit.code == "SNV").values(name="Sở Nội vụ thành phố Cần Thơ"),
        update(Unit).where(Unit.code == "X31299").values(is_active=False),
        update(UnitGroup).where(UnitGroup.code == "department").values(name="Các sở, ban, ngành"),
        update(Person)
        .where(Person.id == "nguyen-thanh-long")
        .values(signature_title_lines=["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH THƯỜNG TRỰC"]),
        delete(Person).where(Person.id == "dang-minh-khoa"),
    )
    changed = await _snapshot(database_url)
    assert await seed(database_url) == {"groups": 0, "units": 0, "people": 0}
    assert await _snapshot(database_url) == changed
    assert "dang-minh-khoa" not in changed["people"]  # deleted stays deleted
    assert changed["units"]["X31299"][2] is False  # retired stays retired


async def test_a_database_seeded_before_marks_existed_is_marked_not_changed(database_url: str) -> None:
    await _change(
        database_url,
        delete(DirectorySeedMark),
        update(Unit).where(Unit.code == "SNV").values(name="Sở Nội vụ (đổi tên)"),
        delete(Person).where(Person.id == "truong-canh-tuyen"),
    )
    # The first seed after the upgrade adds what is missing (the chair) and marks everything.
    assert await seed(database_url) == {"groups": 0, "units": 0, "people": 1}
    state = await _snapshot(database_url)
    assert state["units"]["SNV"][0] == "Sở Nội vụ (đổi tên)"
    assert "truong-canh-tuyen" in state["people"]
    await _change(database_url, delete(Person).where(Person.id == "truong-canh-tuyen"))
    assert await seed(database_url) == {"groups": 0, "units": 0, "people": 0}
    assert "truong-canh-tuyen" not in (await _snapshot(database_url))["people"]
