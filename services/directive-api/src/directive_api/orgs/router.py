"""Read endpoints of the organisation directory: units and groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.http import etag
from common.problems import problem_responses
from directive_api.orgs import service
from directive_api.orgs.errors import GroupNotFoundError, UnitNotFoundError
from directive_api.orgs.schemas import NO_CONTROL, GroupDetail, GroupRead, UnitRead

router = APIRouter(prefix="/v1", tags=["directory"])


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
    unit = await service.read_unit(session, code)
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
    group, units = await service.read_group(session, code)
    response.headers["ETag"] = etag(group.version)
    return GroupDetail(
        code=group.code,
        name=group.name,
        is_addressable=group.is_addressable,
        version=group.version,
        units=[UnitRead.model_validate(u) for u in units],
    )
