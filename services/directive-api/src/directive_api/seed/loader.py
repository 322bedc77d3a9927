"""Seeds the directory (units, groups, people): fills an empty database, then only adds what it never had."""

from __future__ import annotations

import json
import unicodedata
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

GROUPS: dict[str, tuple[str, bool]] = {
    "department": ("Sở, ban ngành thành phố", True),
    "socio_political_org": ("Các tổ chức chính trị - xã hội", True),
    "commune_level": ("Ủy ban nhân dân xã, phường", True),
    "information": ("Cơ quan nhận để biết", False),
}

ISSUERS: dict[str, dict[str, str]] = {
    # Units that issue documents under their own notation, with their letterhead (ô 2). The unit
    # list itself is the shared seed, kept as it is; what makes a unit an issuer is added here.
    "VPUB": {
        "notation": "VPUB",
        "letterhead_parent": "UBND THÀNH PHỐ CẦN THƠ",
        "letterhead_name": "VĂN PHÒNG",
        "place_name": "Cần Thơ",
    },
    "UBND-TP": {
        "notation": "UBND",
        "letterhead_name": "ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ",
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


def _unit_record(raw: dict[str, Any], development: dict[str, str] | None = None) -> dict[str, Any]:
    record = {k: _nfc(v) for k, v in raw.items()}
    code = record["code"]
    extra = ISSUERS.get(code, {})
    # The unit list's own identifier is a real one; the development ones come from their own file.
    organ_id, is_development = record.get("organ_id"), bool(record.get("organ_id_development", False))
    if organ_id is None and development and code in development:
        organ_id, is_development = development[code], True
    return {
        "code": code,
        "name": record["name"],
        "short_name": record.get("short_name") or record["name"],
        "kind": record["kind"],
        "group_code": record.get("group"),
        "parent_code": record.get("parent"),
        "organ_id": organ_id,
        "organ_id_development": is_development,
        "gso_code": record.get("gso_code"),
        "notation": extra.get("notation", record.get("notation")),
        "note": record.get("note"),
        "letterhead_parent": extra.get("letterhead_parent"),
        "letterhead_name": extra.get("letterhead_name"),
        "place_name": extra.get("place_name"),
        "is_active": True,
    }


def _person_record(raw: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {k: _nfc(v) for k, v in raw.items()}
    record["signature_title_lines"] = [_nfc(line) for line in record.get("signature_title_lines") or []]
    record["signature_titles"] = {
        key: [_nfc(line) for line in lines] for key, lines in (record.get("signature_titles") or {}).items()
    }
    record["is_active"] = True
    return record


async def load_directory(session: AsyncSession, units_data: dict[str, Any] | None = None) -> dict[str, int]:
    """Add the seed's groups, units and people that the directory has never had.

    An entry is provided once: after that (a mark is kept per entry) seeding never touches it again,
    so what an administrator changed, retired or deleted stays that way across restarts. Entries
    that a database already held before marks existed are marked, not changed.

    Returns:
        How many entries of each kind were added.
    """
    # The ORM is imported by the loaders only: `mint-token` and `walk-seed` read the seed files.
    from sqlalchemy import select

    from directive_api.orgs.models import DirectorySeedMark, Unit, UnitGroup
    from directive_api.people.models import Person

    marks = {(m.kind, m.key) for m in (await session.scalars(select(DirectorySeedMark))).all()}
    added = {"groups": 0, "units": 0, "people": 0}

    async def provide(kind: str, key: str, model: type[Any], values: dict[str, Any]) -> None:
        if (kind, key) in marks:
            return
        if await session.get(model, key) is None:
            session.add(model(**values))
            added[f"{kind}s" if kind != "person" else "people"] += 1
        session.add(DirectorySeedMark(kind=kind, key=key))
        marks.add((kind, key))
        await session.flush()

    for code, (name, addressable) in GROUPS.items():
        await provide("group", code, UnitGroup, {"code": code, "name": name, "is_addressable": addressable})
    development: dict[str, str] = {}
    if units_data is None:
        units_data = read_json("can-tho-units.json")
        development = read_json("organ-ids-development.json")["development"]
    held = {
        organ_id: code
        for code, organ_id in (
            await session.execute(select(Unit.code, Unit.organ_id).where(Unit.organ_id.is_not(None)))
        )
    }
    for raw in units_data["units"]:
        record = _unit_record(raw, development)
        if record["organ_id_development"] and held.get(record["organ_id"], record["code"]) != record["code"]:
            record["organ_id"], record["organ_id_development"] = None, False  # another unit's identifier now
        await provide("unit", record["code"], Unit, record)
    for raw in read_json("people.json"):
        record = _person_record(raw)
        await provide("person", record["id"], Person, record)
    return added


async def upsert_units(session: AsyncSession, units: list[dict[str, Any]]) -> int:
    from directive_api.orgs.models import Unit

    """Create or overwrite units from records of the seed's format (an administrator's import)."""
    for raw in units:
        await session.merge(Unit(**_unit_record(raw)))
    await session.flush()
    return len(units)
