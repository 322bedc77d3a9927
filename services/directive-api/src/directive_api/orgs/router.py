"""Read endpoints of the organisation directory and of people."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.http import etag
from common.problems import problem_responses
from directive_api.directory.errors import GroupNotFoundError, PersonNotFoundError, UnitNotFoundError
from directive_api.orgs import service
from directive_api.people.models import Person

router = APIRouter(prefix="/v1", tags=["directory"])

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
"""Codes, ids and search words never contain control characters (PostgreSQL refuses NUL in text)."""


class UnitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    short_name: str
    kind: str
    group_code: str | None
    parent_code: str | None
    organ_id: str | None
    organ_id_development: bool
    """The organ id was made up for development (seed data), not taken from the national list."""
    gso_code: str | None
    notation: str | None
    is_active: bool = True
    version: int = 1


class GroupRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    is_addressable: bool
    version: int = 1


class GroupDetail(GroupRead):
    units: list[UnitRead]


class PersonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    full_name: str
    unit_code: str
    position: str
    division: str | None
    roles: list[str]
    signature_title_lines: list[str]
    """The default signature block above the name."""
    signature_titles: dict[str, list[str]] = {}
    """Signature blocks by signing authority (``TM.``, ``KT.``, ``TL.``, ``TUQ.``, ``Q.``)."""
    is_active: bool = True
    version: int = 1


@router.get("/orgs", response_model=list[UnitRead], responses=problem_responses())
async def list_orgs(
    session: SessionDep,
    _actor: CurrentPrincipal,
    group: Annotated[
        str | None, Query(max_length=40, pattern=NO_CONTROL, description="Only units of this group")
    ] = None,
    kind: Annotated[str | None, Query(max_length=40, pattern=NO_CONTROL)] = None,
    q: Annotated[str | None, Query(max_length=100, pattern=NO_CONTROL, description="Search in names")] = None,
) -> list[UnitRead]:
    """The units of the directory (departments, organisations, wards and communes, …)."""
    return [UnitRead.model_validate(u) for u in await service.list_units(session, group=group, kind=kind, query=q)]


@router.get("/orgs/{code}", response_model=UnitRead, responses=problem_responses(UnitNotFoundError))
async def get_org(
    code: Annotated[str, Path(max_length=40, pattern=NO_CONTROL)],
    session: SessionDep,
    _actor: CurrentPrincipal,
    response: Response,
) -> UnitRead:
    """One unit (retired ones too); `ETag` is its version, for `PATCH`/`DELETE` with `If-Match`."""
    unit = await service.get_unit(session, code)
    if unit is None:
        raise UnitNotFoundError(f"no unit {code}")
    response.headers["ETag"] = etag(unit.version)
    return UnitRead.model_validate(unit)


@router.get("/org-groups", response_model=list[GroupRead], responses=problem_responses())
async def list_org_groups(session: SessionDep, _actor: CurrentPrincipal) -> list[GroupRead]:
    """Groups that a letter can address at once (``Kính gửi``)."""
    return [GroupRead.model_validate(g) for g in await service.list_groups(session)]


@router.get("/org-groups/{code}", response_model=GroupDetail, responses=problem_responses(GroupNotFoundError))
async def get_org_group(
    code: Annotated[str, Path(max_length=40, pattern=NO_CONTROL)],
    session: SessionDep,
    _actor: CurrentPrincipal,
    response: Response,
) -> GroupDetail:
    """A group with the units it expands to; `ETag` is its version."""
    group = await service.get_group(session, code)
    if group is None:
        raise GroupNotFoundError(f"no group {code}")
    response.headers["ETag"] = etag(group.version)
    units = await service.expand(session, groups=[code])
    return GroupDetail(
        code=group.code,
        name=group.name,
        is_addressable=group.is_addressable,
        version=group.version,
        units=[UnitRead.model_validate(u) for u in units],
    )


@router.get("/people", response_model=list[PersonRead], tags=["people"], responses=problem_responses())
async def list_people(
    session: SessionDep,
    _actor: CurrentPrincipal,
    unit: Annotated[str | None, Query(max_length=40, pattern=NO_CONTROL)] = None,
    role: Annotated[str | None, Query(max_length=40, pattern=NO_CONTROL)] = None,
) -> list[PersonRead]:
    """Staff known to the directory: who drafts, reviews, signs and issues."""
    from sqlalchemy import select

    statement = select(Person).where(Person.is_active.is_(True)).order_by(Person.id)
    if unit is not None:
        statement = statement.where(Person.unit_code == unit)
    people = (await session.scalars(statement)).all()
    if role is not None:
        people = [p for p in people if role in p.roles]
    return [PersonRead.model_validate(p) for p in people]


@router.get(
    "/people/{person_id}",
    response_model=PersonRead,
    tags=["people"],
    responses=problem_responses(PersonNotFoundError),
)
async def get_person(
    person_id: Annotated[str, Path(max_length=64, pattern=NO_CONTROL)],
    session: SessionDep,
    _actor: CurrentPrincipal,
    response: Response,
) -> PersonRead:
    """One person (retired ones too), with their signature blocks; `ETag` is their version."""
    person = await session.get(Person, person_id)
    if person is None:
        raise PersonNotFoundError(f"no person {person_id}")
    response.headers["ETag"] = etag(person.version)
    return PersonRead.model_validate(person)
