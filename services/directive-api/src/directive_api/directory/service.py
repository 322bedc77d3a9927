"""The rules of directory administration: who may change it, what a change must respect, and its history.

Every change bumps the entry's version (its ETag) and writes a history row with the entry before and
after, in the request's transaction. A unit, group or person still referred to cannot be deleted;
units and people are retired instead (``is_active: false``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from common.auth import Principal
from common.http import require_if_match
from common.problems import NotFoundError, PreconditionFailedError, UnprocessableError
from directive_api.directives.lifecycle import Role
from directive_api.directory import repository
from directive_api.directory.errors import (
    DirectoryEntryExistsError,
    GroupInUseError,
    GroupNotFoundError,
    InvalidDirectoryEntryError,
    NotDirectoryAdminError,
    PersonInUseError,
    PersonNotFoundError,
    UnitInUseError,
    UnitNotFoundError,
)
from directive_api.directory.schemas import (
    DirectoryDocument,
    GroupAdminRead,
    GroupCreate,
    GroupEntry,
    GroupFields,
    ImportResult,
    PersonAdminRead,
    PersonCreate,
    PersonEntry,
    PersonFields,
    UnitAdminRead,
    UnitCreate,
    UnitEntry,
    UnitFields,
)
from directive_api.orgs.models import DirectoryChange, Unit, UnitGroup
from directive_api.people.models import Person


@dataclass(frozen=True)
class Kind:
    """One kind of directory entry and the shapes derived from its field set."""

    name: str
    plural: str
    model: type[Any]
    key: str
    fields: type[BaseModel]
    create: type[BaseModel]
    read: type[BaseModel]
    required: frozenset[str]
    """Fields that a change may not set to null (the column has no "unknown" value)."""
    not_found: type[NotFoundError]


UNIT = Kind(
    "unit",
    "units",
    Unit,
    "code",
    UnitFields,
    UnitCreate,
    UnitAdminRead,
    frozenset({"name", "short_name", "kind", "is_active"}),
    UnitNotFoundError,
)
GROUP = Kind(
    "group",
    "groups",
    UnitGroup,
    "code",
    GroupFields,
    GroupCreate,
    GroupAdminRead,
    frozenset({"name", "is_addressable"}),
    GroupNotFoundError,
)
PERSON = Kind(
    "person",
    "people",
    Person,
    "id",
    PersonFields,
    PersonCreate,
    PersonAdminRead,
    frozenset(
        {"full_name", "unit_code", "position", "roles", "signature_title_lines", "signature_titles", "is_active"}
    ),
    PersonNotFoundError,
)
KINDS = {k.plural: k for k in (GROUP, UNIT, PERSON)}


def ensure_admin(actor: Principal, admin_unit: str) -> None:
    """Only the ``admin`` role of the Office changes the directory."""
    if not actor.has_any(Role.admin.value) or actor.unit != admin_unit:
        raise NotDirectoryAdminError(f"the directory is changed by the role 'admin' of {admin_unit}")


def ensure_reader_of_history(actor: Principal, admin_unit: str) -> None:
    """The Office's administrators and auditors read the directory's history."""
    if not actor.has_any(Role.admin.value, Role.auditor.value) or actor.unit != admin_unit:
        raise NotDirectoryAdminError(f"the directory's history is read by 'admin' or 'auditor' of {admin_unit}")


def snapshot(kind: Kind, entity: Any) -> dict[str, Any]:
    """The entry as JSON, without its version (what the history keeps before and after a change)."""
    data: dict[str, Any] = kind.read.model_validate(entity).model_dump(mode="json", exclude={"version"})
    return data


def _values(kind: Kind, body: BaseModel) -> dict[str, Any]:
    del kind
    values: dict[str, Any] = body.model_dump(mode="json", exclude_unset=True)
    return values


async def _flush_or_stale(session: AsyncSession, kind: Kind, key: str) -> None:
    try:
        await session.flush()
    except StaleDataError:
        raise PreconditionFailedError(f"{kind.name} {key} was changed meanwhile; read it again") from None


async def get(session: AsyncSession, kind: Kind, key: str) -> Any:
    entity = await session.get(kind.model, key)
    if entity is None:
        raise kind.not_found(f"no {kind.name} {key}")
    return entity


async def _check_references(
    session: AsyncSession, kind: Kind, key: str, values: dict[str, Any], *, pending: dict[str, set[str]] | None = None
) -> list[dict[str, Any]]:
    """Problems with what ``values`` refer to (as 422 ``errors`` entries, without the location prefix)."""
    pending = pending or {}
    errors: list[dict[str, Any]] = []

    async def known(model: type[Any], plural: str, code: str) -> bool:
        return code in pending.get(plural, set()) or bool(await repository.existing(session, model, {code}))

    if kind is UNIT:
        group = values.get("group_code")
        if group is not None and not await known(UnitGroup, "groups", group):
            errors.append({"location": ["group_code"], "message": f"unknown group {group}"})
        parent = values.get("parent_code")
        if parent is not None and (parent == key or not await known(Unit, "units", parent)):
            errors.append({"location": ["parent_code"], "message": f"unknown supervising unit {parent}"})
        organ_id = values.get("organ_id")
        holder = await repository.unit_with_organ_id(session, organ_id) if organ_id is not None else None
        if holder is not None and holder != key:
            errors.append({"location": ["organ_id"], "message": f"{organ_id} is already unit {holder}'s identifier"})
    if kind is PERSON:
        unit_code = values.get("unit_code")
        if unit_code is not None and not await known(Unit, "units", unit_code):
            errors.append({"location": ["unit_code"], "message": f"unknown unit {unit_code}"})
    return errors


def _refuse(errors: list[dict[str, Any]], prefix: list[str]) -> None:
    if errors:
        raise InvalidDirectoryEntryError(
            "some fields are invalid",
            errors=[{**e, "location": [*prefix, *e["location"]]} for e in errors],
        )


async def create(session: AsyncSession, kind: Kind, body: BaseModel, *, actor: Principal, now: datetime) -> Any:
    """A new unit, group or person."""
    values = _values(kind, body)
    key = values[kind.key]
    if await session.get(kind.model, key) is not None:
        raise DirectoryEntryExistsError(f"{kind.name} {key} already exists")
    _refuse(await _check_references(session, kind, key, values), ["body"])
    entity = kind.model(**values)
    entity.version = 1
    if kind is UNIT:
        entity.organ_id_development = False
    all_defaults: dict[str, dict[str, Any]] = {
        "unit": {"is_active": True, "short_name": values.get("name")},
        "group": {"is_addressable": True},
        "person": {"is_active": True, "signature_title_lines": [], "signature_titles": {}, "signing_mode": "server"},
    }
    defaults = all_defaults[kind.name]
    for name, default in defaults.items():
        if values.get(name) is None:
            setattr(entity, name, default)
    session.add(entity)
    await session.flush()
    repository.add_change(
        session,
        kind=kind.name,
        key=key,
        action="create",
        version=1,
        actor_id=actor.id,
        before=None,
        after=snapshot(kind, entity),
        at=now,
    )
    await session.flush()
    return entity


async def update(
    session: AsyncSession,
    kind: Kind,
    key: str,
    body: BaseModel,
    *,
    actor: Principal,
    if_match: str | None,
    now: datetime,
    action: str = "update",
) -> Any:
    """Change some fields of an entry; the caller sends the ETag it read."""
    entity = await get(session, kind, key)
    require_if_match(if_match, entity.version)
    values = _values(kind, body)
    values.pop(kind.key, None)
    if not values:
        raise UnprocessableError("nothing to change")
    nulls = sorted(k for k in kind.required if k in values and values[k] is None)
    if nulls:
        raise UnprocessableError(f"these fields cannot be null: {', '.join(nulls)}")
    _refuse(await _check_references(session, kind, key, values), ["body"])
    before = snapshot(kind, entity)
    if kind is UNIT and values.get("organ_id", entity.organ_id) != entity.organ_id:
        entity.organ_id_development = False  # an administrator's new identifier is the official one
    for name, value in values.items():
        setattr(entity, name, value)
    after = snapshot(kind, entity)
    if after == before:
        return entity
    entity.version += 1
    if action == "update" and before.get("is_active") and after.get("is_active") is False:
        action = "retire"
    repository.add_change(
        session,
        kind=kind.name,
        key=key,
        action=action,
        version=entity.version,
        actor_id=actor.id,
        before=before,
        after=after,
        at=now,
    )
    await _flush_or_stale(session, kind, key)
    return entity


async def delete(
    session: AsyncSession, kind: Kind, key: str, *, actor: Principal, if_match: str | None, now: datetime
) -> None:
    """Delete an entry nothing refers to; otherwise 409 naming what uses it."""
    entity = await get(session, kind, key)
    require_if_match(if_match, entity.version)
    if kind is UNIT:
        uses = await repository.unit_uses(session, key)
        if uses:
            raise UnitInUseError(f"unit {key} is used by: {', '.join(uses)}; retire it instead", uses=uses)
    elif kind is GROUP:
        uses = await repository.group_uses(session, key)
        if uses:
            raise GroupInUseError(f"group {key} is used by: {', '.join(uses)}", uses=uses)
    else:
        uses = await repository.person_uses(session, key)
        if uses:
            raise PersonInUseError(f"{key} is named by: {', '.join(uses)}; retire them instead", uses=uses)
    before = snapshot(kind, entity)
    await session.delete(entity)
    repository.add_change(
        session,
        kind=kind.name,
        key=key,
        action="delete",
        version=None,
        actor_id=actor.id,
        before=before,
        after=None,
        at=now,
    )
    await _flush_or_stale(session, kind, key)


async def list_changes(
    session: AsyncSession, *, kind: str | None, key: str | None, limit: int, before_id: int | None
) -> Sequence[DirectoryChange]:
    """The directory's history, newest first (``before_id`` pages back)."""
    return await repository.changes(session, kind=kind, key=key, limit=limit, before_id=before_id)


async def export(session: AsyncSession) -> DirectoryDocument:
    """Every group, unit and person, retired ones included."""
    groups, units, people = await repository.all_entries(session)
    # Constructed, not validated: entries written before today's rules (or by the CLI) still export.
    return DirectoryDocument.model_construct(
        groups=[GroupEntry.model_construct(**snapshot(GROUP, g)) for g in groups],
        units=[UnitEntry.model_construct(**snapshot(UNIT, u)) for u in units],
        people=[PersonEntry.model_construct(**snapshot(PERSON, p)) for p in people],
    )


async def import_document(
    session: AsyncSession, document: DirectoryDocument, *, actor: Principal, now: datetime
) -> ImportResult:
    """Create or overwrite the entries of ``document`` (groups, then units, then people), all or none.

    Each field the document gives overwrites the entry's; fields it leaves out stay as they are.
    An entry that would not change is left alone (no new version, no history).
    """
    pending = {
        "groups": {g.code for g in document.groups},
        "units": {u.code for u in document.units},
        "people": {p.id for p in document.people},
    }
    errors: list[dict[str, Any]] = []
    new: dict[tuple[str, str], BaseModel] = {}
    for kind in (GROUP, UNIT, PERSON):
        for index, body in enumerate(getattr(document, kind.plural)):
            values = _values(kind, body)
            key = values[kind.key]
            where = [kind.plural, str(index)]
            if not await repository.existing(session, kind.model, {key}):
                try:  # a new entry needs every field a creation needs
                    new[(kind.name, key)] = kind.create.model_validate(body.model_dump(exclude_unset=True))
                except ValidationError as exc:
                    errors += [
                        {"location": [*where, *[str(p) for p in e["loc"]]], "message": e["msg"]}
                        for e in exc.errors(include_url=False, include_context=False, include_input=False)
                    ]
            problems = await _check_references(session, kind, key, values, pending=pending)
            errors += [{**e, "location": [*where, *e["location"]]} for e in problems]
    _refuse(errors, ["body"])
    result = {"created": 0, "updated": 0, "unchanged": 0}
    for kind in (GROUP, UNIT, PERSON):
        for body in getattr(document, kind.plural):
            key = getattr(body, kind.key)
            entity = await session.get(kind.model, key)
            if entity is None:
                await create(session, kind, new[(kind.name, key)], actor=actor, now=now)
                result["created"] += 1
                continue
            version = entity.version
            changed = kind.fields.model_validate(body.model_dump(exclude_unset=True, exclude={kind.key}))
            if changed.model_fields_set:
                await update(session, kind, key, changed, actor=actor, if_match="*", now=now, action="import")
            result["updated" if entity.version != version else "unchanged"] += 1
    return ImportResult(**result)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def to_csv(kind: Kind, entries: list[BaseModel]) -> str:
    """One kind of the directory as CSV (UTF-8, a header row; lists and blocks as JSON in their cell)."""
    columns = list(kind.create.model_fields)
    columns.sort(key=lambda c: c != kind.key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for entry in entries:
        data = entry.model_dump(mode="json", warnings=False)
        writer.writerow([_cell(data.get(c)) for c in columns])
    return out.getvalue()


_JSON_FIELDS = frozenset({"roles", "signature_title_lines", "signature_titles"})


def from_csv(kind: Kind, text: str) -> DirectoryDocument:
    """Parse the CSV of one kind (as :func:`to_csv` writes it) into an import document."""
    reader = csv.DictReader(io.StringIO(text))
    known = set(kind.create.model_fields)
    unknown = [c for c in reader.fieldnames or [] if c not in known]
    if not reader.fieldnames or kind.key not in reader.fieldnames or unknown:
        raise UnprocessableError(
            f"the CSV header must name {kind.key!r} and only columns of {kind.plural}",
            errors=[{"location": ["body", "header"], "message": f"unknown columns: {', '.join(unknown)}"}]
            if unknown
            else [],
        )
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for line, raw in enumerate(reader, start=2):
        row: dict[str, Any] = {}
        for column, cell in raw.items():
            if column is None or cell is None:
                errors.append({"location": ["body", str(line)], "message": "the row has more cells than the header"})
                continue
            if cell == "":
                continue  # an empty cell leaves the field as it is
            if column in _JSON_FIELDS:
                try:
                    row[column] = json.loads(cell)
                except ValueError:
                    errors.append({"location": ["body", str(line), column], "message": "not JSON"})
            elif column in ("is_active", "is_addressable"):
                row[column] = {"true": True, "false": False}.get(cell.strip().lower(), cell)
            else:
                row[column] = cell
        rows.append(row)
    if errors:
        raise UnprocessableError("the CSV cannot be read", errors=errors)
    try:
        return DirectoryDocument.model_validate({kind.plural: rows})
    except ValidationError as exc:
        raise UnprocessableError(
            "some rows are invalid",
            errors=[
                {
                    "location": ["body", *[str(p) for p in e["loc"]]],
                    "message": e["msg"],
                }
                for e in exc.errors(include_url=False, include_context=False, include_input=False)
            ],
        ) from None
