"""Reading the directory and expanding groups into units."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from directive_api.orgs import repository
from directive_api.orgs.errors import GroupNotFoundError, UnitNotFoundError
from directive_api.orgs.models import Unit, UnitGroup


async def list_units(
    session: AsyncSession, *, group: str | None = None, kind: str | None = None, query: str | None = None
) -> Sequence[Unit]:
    units = await repository.active_units(session, group=group, kind=kind)
    if query:
        needle = query.casefold()
        units = [u for u in units if needle in u.name.casefold() or needle in u.short_name.casefold()]
    return units


async def get_unit(session: AsyncSession, code: str) -> Unit | None:
    return await repository.get_unit(session, code)


async def read_unit(session: AsyncSession, code: str) -> Unit:
    """The unit (retired ones too), or :class:`UnitNotFoundError`."""
    unit = await repository.get_unit(session, code)
    if unit is None:
        raise UnitNotFoundError(f"no unit {code}")
    return unit


async def list_groups(session: AsyncSession) -> Sequence[UnitGroup]:
    return await repository.groups(session)


async def get_group(session: AsyncSession, code: str) -> UnitGroup | None:
    return await repository.get_group(session, code)


async def read_group(session: AsyncSession, code: str) -> tuple[UnitGroup, list[Unit]]:
    """The group and the active units it expands to, or :class:`GroupNotFoundError`."""
    group = await repository.get_group(session, code)
    if group is None:
        raise GroupNotFoundError(f"no group {code}")
    return group, await expand(session, groups=[code])


async def existing_unit_codes(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    wanted = set(codes)
    if not wanted:
        return set()
    return await repository.existing_unit_codes(session, wanted)


async def retired_unit_codes(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    """Those of ``codes`` that name a unit retired from the directory (``is_active`` false)."""
    wanted = set(codes)
    if not wanted:
        return set()
    return await repository.retired_unit_codes(session, wanted)


async def existing_group_codes(session: AsyncSession, codes: Iterable[str], *, addressable: bool) -> set[str]:
    wanted = set(codes)
    if not wanted:
        return set()
    return await repository.existing_group_codes(session, wanted, addressable=addressable)


async def expand(session: AsyncSession, *, groups: Iterable[str] = (), units: Iterable[str] = ()) -> list[Unit]:
    """The active units named directly or through their group, each once, in directory order."""
    group_set, unit_set = set(groups), set(units)
    if not group_set and not unit_set:
        return []
    return await repository.active_units_named(session, groups=group_set, units=unit_set)


async def recipients(session: AsyncSession, *, groups: Iterable[str] = (), units: Iterable[str] = ()) -> list[Unit]:
    """The units a document goes to: the active members of ``groups`` and every unit in ``units``.

    A retired unit is no member of its group any more, but a unit named on its own is kept even if
    retired since the document was issued: the issued text names it, so it is delivered, never dropped.
    """
    members = await expand(session, groups=groups)
    named = await repository.units_with_codes(session, set(units)) if units else []
    by_code = {u.code: u for u in [*members, *named]}
    return [by_code[code] for code in sorted(by_code)]
