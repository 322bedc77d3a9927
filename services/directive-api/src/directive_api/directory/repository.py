"""Queries of the directory administration: entries, what refers to them, and their history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from directive_api.deliveries.models import Delivery, RecordsFile
from directive_api.directives.models import Directive, Register
from directive_api.orgs.models import DirectoryChange, Unit, UnitGroup
from directive_api.people.models import Person


async def _count(session: AsyncSession, statement: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(statement.subquery())) or 0)


def _json_mentions(column: Any, value: str) -> Any:
    # Addressees and information recipients are JSON; a quoted string equal to the code is a
    # mention (conservative: a label spelled like a code also counts, which only refuses a delete).
    return cast(column, String).contains(f'"{value}"')


async def unit_uses(session: AsyncSession, code: str) -> list[str]:
    """What still refers to a unit (empty: it can be deleted)."""
    checks = {
        "people": select(Person.id).where(Person.unit_code == code),
        "documents it issued": select(Directive.id).where(Directive.issuer_code == code),
        "documents addressed to it": select(Directive.id).where(
            or_(_json_mentions(Directive.addressees, code), _json_mentions(Directive.info_recipients, code))
        ),
        "deliveries": select(Delivery.id).where(Delivery.unit_code == code),
        "registers": select(Register.id).where(Register.issuer_code == code),
        "records files": select(RecordsFile.id).where(RecordsFile.issuer_code == code),
        "units it supervises": select(Unit.code).where(Unit.parent_code == code),
    }
    return [f"{name} ({n})" for name, statement in checks.items() if (n := await _count(session, statement))]


async def group_uses(session: AsyncSession, code: str) -> list[str]:
    """What still refers to a group."""
    checks = {
        "units": select(Unit.code).where(Unit.group_code == code),
        "documents addressed to it": select(Directive.id).where(_json_mentions(Directive.addressees, code)),
    }
    return [f"{name} ({n})" for name, statement in checks.items() if (n := await _count(session, statement))]


async def person_uses(session: AsyncSession, person_id: str) -> list[str]:
    """Documents that name a person as signer."""
    n = await _count(session, select(Directive.id).where(Directive.signer_id == person_id))
    return [f"documents they sign ({n})"] if n else []


async def existing(session: AsyncSession, model: type[Any], keys: set[str]) -> set[str]:
    """Which of ``keys`` exist as primary keys of ``model`` (units, groups or people)."""
    if not keys:
        return set()
    column = {Unit: Unit.code, UnitGroup: UnitGroup.code, Person: Person.id}[model]
    return set(await session.scalars(select(column).where(column.in_(keys))))


async def unit_with_organ_id(session: AsyncSession, organ_id: str) -> str | None:
    """The code of the unit that holds ``organ_id``, if one does."""
    code: str | None = await session.scalar(select(Unit.code).where(Unit.organ_id == organ_id))
    return code


def add_change(
    session: AsyncSession,
    *,
    kind: str,
    key: str,
    action: str,
    version: int | None,
    actor_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime,
) -> None:
    session.add(
        DirectoryChange(
            kind=kind, key=key, action=action, version=version, actor_id=actor_id, before=before, after=after, at=at
        )
    )


async def changes(
    session: AsyncSession, *, kind: str | None, key: str | None, limit: int, before_id: int | None
) -> Sequence[DirectoryChange]:
    """The directory's history, newest first."""
    statement = select(DirectoryChange).order_by(DirectoryChange.id.desc()).limit(limit)
    if kind is not None:
        statement = statement.where(DirectoryChange.kind == kind)
    if key is not None:
        statement = statement.where(DirectoryChange.key == key)
    if before_id is not None:
        statement = statement.where(DirectoryChange.id < before_id)
    return (await session.scalars(statement)).all()


async def all_entries(session: AsyncSession) -> tuple[Sequence[UnitGroup], Sequence[Unit], Sequence[Person]]:
    groups = (await session.scalars(select(UnitGroup).order_by(UnitGroup.code))).all()
    units = (await session.scalars(select(Unit).order_by(Unit.code))).all()
    people = (await session.scalars(select(Person).order_by(Person.id))).all()
    return groups, units, people
