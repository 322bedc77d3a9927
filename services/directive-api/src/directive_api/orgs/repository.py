"""Queries of the directory's units and groups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from directive_api.orgs.models import Unit, UnitGroup


async def active_units(session: AsyncSession, *, group: str | None, kind: str | None) -> Sequence[Unit]:
    statement = select(Unit).where(Unit.is_active.is_(True)).order_by(Unit.code)
    if group is not None:
        statement = statement.where(Unit.group_code == group)
    if kind is not None:
        statement = statement.where(Unit.kind == kind)
    return (await session.scalars(statement)).all()


async def all_units(session: AsyncSession) -> Sequence[Unit]:
    """Every unit, retired ones too."""
    return (await session.scalars(select(Unit))).all()


async def get_unit(session: AsyncSession, code: str) -> Unit | None:
    return await session.get(Unit, code)


async def groups(session: AsyncSession) -> Sequence[UnitGroup]:
    return (await session.scalars(select(UnitGroup).order_by(UnitGroup.code))).all()


async def get_group(session: AsyncSession, code: str) -> UnitGroup | None:
    return await session.get(UnitGroup, code)


async def existing_unit_codes(session: AsyncSession, codes: set[str]) -> set[str]:
    return set(await session.scalars(select(Unit.code).where(Unit.code.in_(codes))))


async def retired_unit_codes(session: AsyncSession, codes: set[str]) -> set[str]:
    return set(await session.scalars(select(Unit.code).where(Unit.code.in_(codes), Unit.is_active.is_(False))))


async def units_with_codes(session: AsyncSession, codes: set[str]) -> list[Unit]:
    """The units among ``codes``, retired ones too, in directory order."""
    return list((await session.scalars(select(Unit).where(Unit.code.in_(codes)).order_by(Unit.code))).all())


async def existing_group_codes(session: AsyncSession, codes: set[str], *, addressable: bool) -> set[str]:
    statement = select(UnitGroup.code).where(UnitGroup.code.in_(codes))
    if addressable:
        statement = statement.where(UnitGroup.is_addressable.is_(True))
    return set(await session.scalars(statement))


async def active_units_named(session: AsyncSession, *, groups: Iterable[str], units: Iterable[str]) -> list[Unit]:
    """The active units of ``groups`` or among ``units``, in directory order."""
    statement = select(Unit).where(
        Unit.is_active.is_(True), (Unit.group_code.in_(set(groups))) | (Unit.code.in_(set(units)))
    )
    return list((await session.scalars(statement.order_by(Unit.code))).all())


async def set_organ_ids(session: AsyncSession, changes: dict[str, str], *, cleared: Iterable[str]) -> None:
    """Give units new official organ ids, and take the development one away from ``cleared``."""
    # Cleared first so that identifiers can move between units without tripping the unique constraint.
    await session.execute(update(Unit).where(Unit.code.in_(changes)).values(organ_id=None))
    await session.execute(
        update(Unit).where(Unit.code.in_(list(cleared))).values(organ_id=None, organ_id_development=False)
    )
    for code, organ_id in changes.items():
        await session.execute(
            update(Unit).where(Unit.code == code).values(organ_id=organ_id, organ_id_development=False)
        )
    await session.flush()
