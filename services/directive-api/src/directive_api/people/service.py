"""Reading the directory's people: who drafts, reviews, signs and issues."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from directive_api.directives.states import Role
from directive_api.people import repository
from directive_api.people.errors import PersonNotFoundError
from directive_api.people.models import Person


async def list_people(session: AsyncSession, *, unit: str | None = None, role: str | None = None) -> Sequence[Person]:
    """Active people, of one unit or with one role when asked."""
    people = await repository.active_people(session, unit=unit)
    if role is not None:
        # Roles are a JSON list: filtered here, the same way on SQLite and PostgreSQL.
        people = [p for p in people if role in p.roles]
    return people


async def read_person(session: AsyncSession, person_id: str) -> Person:
    """The person (retired ones too), or :class:`PersonNotFoundError`."""
    person = await repository.get(session, person_id)
    if person is None:
        raise PersonNotFoundError(f"no person {person_id}")
    return person


def reads_signing_setup(actor: Principal, admin_unit: str) -> bool:
    """Whether ``actor`` reads how people sign (``signing_mode``, ``signing_certificate``).

    The Office's directory administrators, who set it; everyone else reads the person without it.
    """
    return actor.has_any(Role.admin.value) and actor.unit == admin_unit
