"""Reading the directory and expanding groups into units."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directive_api.orgs.models import Unit, UnitGroup


async def list_units(
    session: AsyncSession, *, group: str | None = None, kind: str | None = None, query: str | None = None
) -> Sequence[Unit]:
    statement = select(Unit).where(Unit.is_active.is_(True)).order_by(Unit.code)
    if group is not None:
        statement = statement.where(Unit.group_code == group)
    if kind is not None:
        statement = statement.where(Unit.kind == kind)
    units = (await session.scalars(statement)).all()
    if query:
        needle = query.casefold()
        units = [u for u in units if needle in u.name.casefold() or needle in u.short_name.casefold()]
    return units


async def get_unit(session: AsyncSession, code: str) -> Unit | None:
    return await session.get(Unit, code)


async def list_groups(session: AsyncSession) -> Sequence[UnitGroup]:
    return (await session.scalars(select(UnitGroup).order_by(UnitGroup.code))).all()


async def get_group(session: AsyncSession, code: str) -> UnitGroup | None:
    return await session.get(UnitGroup, code)


async def existing_unit_codes(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    wanted = set(codes)
    if not wanted:
        return set()
    found = await session.scalars(select(Unit.code).where(Unit.code.in_(wanted)))
    return set(found)


async def existing_group_codes(session: AsyncSession, codes: Iterable[str], *, addressable: bool) -> set[str]:
    wanted = set(codes)
    if not wanted:
        return set()
    statement = select(UnitGroup.code).where(UnitGroup.code.in_(wanted))
    if addressable:
        statement = statement.where(UnitGroup.is_addressable.is_(True))
    return set(await session.scalars(statement))


async def expand(session: AsyncSession, *, groups: Iterable[str] = (), units: Iterable[str] = ()) -> list[Unit]:
    """The active units named directly or through their group, each once, in directory order."""
    group_set, unit_set = set(groups), set(units)
    if not group_set and not unit_set:
        return []
    statement = select(Unit).where(
        Unit.is_active.is_(True), (Unit.group_code.in_(group_set)) | (Unit.code.in_(unit_set))
    )
    return list((await session.scalars(statement.order_by(Unit.code))).all())
