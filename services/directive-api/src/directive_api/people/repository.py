"""Queries of the directory's people."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directive_api.people.models import Person


async def active_people(session: AsyncSession, *, unit: str | None) -> Sequence[Person]:
    statement = select(Person).where(Person.is_active.is_(True)).order_by(Person.id)
    if unit is not None:
        statement = statement.where(Person.unit_code == unit)
    return (await session.scalars(statement)).all()


async def get(session: AsyncSession, person_id: str) -> Person | None:
    return await session.get(Person, person_id)
