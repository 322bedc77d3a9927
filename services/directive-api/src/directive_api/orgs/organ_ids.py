"""Importing units' exchange identifiers (organ ids) from a CSV of the national list.

The national list holds tens of thousands of agencies; the directory holds the city's units. Rows
are matched to units by ``unit_code`` when the file has that column, otherwise by the unit's name
(NFC, case and spacing ignored). Rows that match no unit are skipped and reported; a row that is
wrong (an identifier not in the QCVN 102:2016 form, an unknown unit code, a name that fits several
units, an identifier given to two units, one that another unit holds officially) stops the whole
import: nothing is changed. A development identifier (seed data) that the file gives to another unit
is taken from the unit that had it.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from common.edxml import OrganIdFormat, classify_organ_id
from directive_api.orgs import repository
from directive_api.orgs.models import Unit

REQUIRED_COLUMN = "organ_id"
MATCH_COLUMNS = ("unit_code", "name")


@dataclass
class ImportReport:
    """What an import did, or why it did nothing."""

    updated: list[tuple[str, str]] = field(default_factory=list)
    """(unit code, new organ id) of units whose identifier changed or stopped being a development one."""
    unchanged: int = 0
    cleared: list[str] = field(default_factory=list)
    """Units whose development identifier the file gave to another unit: they have none now."""
    skipped: list[str] = field(default_factory=list)
    """Rows that match no unit of the directory (``line N: name``)."""
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def is_valid_organ_id(organ_id: str) -> bool:
    """An exchange identifier in the QCVN 102:2016 form ``NNN.NN.NN.XNN`` (13 characters)."""
    return classify_organ_id(organ_id) is OrganIdFormat.QCVN_102


async def import_organ_ids(session: AsyncSession, text: str, *, dry_run: bool = False) -> ImportReport:
    """Give the directory's units the organ ids of a CSV (header row; ``organ_id`` and ``unit_code``
    or ``name``). Applies everything or, when the report has errors, nothing."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(unicodedata.normalize("NFC", text.lstrip("\ufeff"))))
    columns = {(c or "").strip() for c in reader.fieldnames or ()}
    if REQUIRED_COLUMN not in columns or not columns & set(MATCH_COLUMNS):
        report.errors.append(f"the header must name {REQUIRED_COLUMN} and one of {', '.join(MATCH_COLUMNS)}")
        return report
    units = list(await repository.all_units(session))
    by_code = {u.code: u for u in units}
    by_name: dict[str, list[Unit]] = {}
    for unit in units:
        for name in {_key(unit.name), _key(unit.short_name)}:
            by_name.setdefault(name, []).append(unit)
    wanted: dict[str, str] = {}  # unit code -> organ id
    owner: dict[str, str] = {}  # organ id -> unit code
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        organ_id, code, name = row.get("organ_id", ""), row.get("unit_code", ""), row.get("name", "")
        if not any(row.values()):
            continue
        if not is_valid_organ_id(organ_id):
            report.errors.append(f"line {line}: {organ_id[:40]!r} is not an identifier of the form NNN.NN.NN.XNN")
            continue
        if code:
            if code not in by_code:
                report.errors.append(f"line {line}: no unit has the code {code!r}")
                continue
            unit = by_code[code]
        else:
            matches = by_name.get(_key(name), [])
            if not matches:
                report.skipped.append(f"line {line}: {name}")
                continue
            if len(matches) > 1:
                codes = ", ".join(sorted(u.code for u in matches))
                report.errors.append(f"line {line}: {name!r} fits several units ({codes}): give unit_code")
                continue
            unit = matches[0]
        if wanted.get(unit.code, organ_id) != organ_id:
            report.errors.append(f"line {line}: {unit.code} is given both {wanted[unit.code]} and {organ_id}")
            continue
        if owner.get(organ_id, unit.code) != unit.code:
            report.errors.append(f"line {line}: {organ_id} is given to both {owner[organ_id]} and {unit.code}")
            continue
        wanted[unit.code], owner[organ_id] = organ_id, unit.code
    # A real identifier takes the place of a made-up one; an official one moves from a unit to another
    # only when the file also gives the first unit its own.
    losing = [u for u in units if u.organ_id in owner and owner[u.organ_id] != u.code and u.code not in wanted]
    for unit in losing:
        if not unit.organ_id_development:
            report.errors.append(
                f"{unit.organ_id} belongs to {unit.code}, which the file does not give another identifier"
            )
    if report.errors:
        return report
    report.cleared = sorted(u.code for u in losing)
    changes = {
        code: organ_id
        for code, organ_id in wanted.items()
        if by_code[code].organ_id != organ_id or by_code[code].organ_id_development
    }
    report.unchanged = len(wanted) - len(changes)
    report.updated = sorted(changes.items())
    if dry_run or not changes:
        return report
    await repository.set_organ_ids(session, changes, cleared=report.cleared)
    return report
