"""Loads the directory (units, groups, people) into the database; safe to run again."""

from __future__ import annotations

import json
import unicodedata
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directive_api.orgs.models import Unit, UnitGroup
from directive_api.people.models import Person

GROUPS: dict[str, tuple[str, bool]] = {
    "department": ("Sở, ban ngành thành phố", True),
    "socio_political_org": ("Các tổ chức chính trị - xã hội", True),
    "commune_level": ("Ủy ban nhân dân xã, phường", True),
    "information": ("Cơ quan nhận để biết", False),
}

LETTERHEADS: dict[str, dict[str, str]] = {
    "VPUB": {
        "letterhead_parent": "UBND THÀNH PHỐ CẦN THƠ",
        "letterhead_name": "VĂN PHÒNG",
        "place_name": "Cần Thơ",
    },
}


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def read_json(name: str) -> Any:
    """A JSON file shipped with the package (``directive_api/seed``)."""
    text = resources.files("directive_api.seed").joinpath(name).read_text(encoding="utf-8")
    return json.loads(unicodedata.normalize("NFC", text))


def seed_letter() -> dict[str, Any]:
    """The seed letter (công văn of VPUB, November 2025) as a create-document request body."""
    data: dict[str, Any] = read_json("seed_letter.json")
    return data


async def load_directory(
    session: AsyncSession, units_data: dict[str, Any] | None = None, *, replace_organ_ids: bool = False
) -> dict[str, int]:
    """Upsert groups, units and people; returns how many of each the directory holds.

    The seed runs at every start: an organ id that did not come from the seed (imported from the
    national list, set by an administrator) is kept unless ``replace_organ_ids`` (an explicit import
    of a directory file)."""
    for code, (name, addressable) in GROUPS.items():
        await session.merge(UnitGroup(code=code, name=name, is_addressable=addressable))
    await session.flush()
    development: dict[str, str] = {}
    if units_data is None:
        units_data = read_json("can-tho-units.json")
        development = read_json("organ-ids-development.json")["development"]
    units = units_data["units"]
    official = {
        unit.organ_id: unit.code
        for unit in await session.scalars(
            select(Unit).where(Unit.organ_id.is_not(None), Unit.organ_id_development.is_(False))
        )
    }
    for raw in units:
        record = {k: _nfc(v) for k, v in raw.items()}
        code = record["code"]
        extra = LETTERHEADS.get(code, {})
        # The unit list's own identifier is a real one; the development ones come from their own file.
        organ_id, is_development = record.get("organ_id"), bool(record.get("organ_id_development", False))
        if organ_id is None and code in development:
            organ_id, is_development = development[code], True
        existing = await session.get(Unit, code)
        if (
            not replace_organ_ids
            and existing is not None
            and existing.organ_id is not None
            and not existing.organ_id_development
        ):
            organ_id, is_development = existing.organ_id, False
        elif not replace_organ_ids and is_development and official.get(organ_id, code) != code:
            organ_id, is_development = None, False  # a made-up identifier now held for real by another unit
        await session.merge(
            Unit(
                code=code,
                name=record["name"],
                short_name=record.get("short_name") or record["name"],
                kind=record["kind"],
                group_code=record.get("group"),
                parent_code=record.get("parent"),
                organ_id=organ_id,
                organ_id_development=is_development,
                gso_code=record.get("gso_code"),
                notation=record.get("notation"),
                note=record.get("note"),
                letterhead_parent=extra.get("letterhead_parent"),
                letterhead_name=extra.get("letterhead_name"),
                place_name=extra.get("place_name"),
                is_active=True,
            )
        )
    await session.flush()
    people = read_json("people.json")
    for person in people:
        await session.merge(Person(**person, is_active=True))
    await session.flush()
    return {"groups": len(GROUPS), "units": len(units), "people": len(people)}
