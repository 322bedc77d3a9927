"""Read endpoints of people."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.http import etag
from common.problems import problem_responses
from directive_api.orgs.schemas import NO_CONTROL
from directive_api.people import service
from directive_api.people.errors import PersonNotFoundError
from directive_api.people.schemas import PersonAdminRead, PersonRead

# Tagged "directory" as well, as these routes were when they sat beside the units'.
router = APIRouter(prefix="/v1", tags=["directory"])


@router.get("/people", response_model=list[PersonRead], tags=["people"], responses=problem_responses())
async def list_people(
    session: SessionDep,
    _actor: CurrentPrincipal,
    unit: Annotated[str | None, Query(max_length=40, pattern=NO_CONTROL)] = None,
    role: Annotated[str | None, Query(max_length=40, pattern=NO_CONTROL)] = None,
) -> list[PersonRead]:
    """Staff known to the directory: who drafts, reviews, signs and issues."""
    return [PersonRead.model_validate(p) for p in await service.list_people(session, unit=unit, role=role)]


@router.get(
    "/people/{person_id}",
    response_model=PersonAdminRead | PersonRead,
    tags=["people"],
    responses=problem_responses(PersonNotFoundError),
)
async def get_person(
    person_id: Annotated[str, Path(max_length=64, pattern=NO_CONTROL)],
    session: SessionDep,
    actor: CurrentPrincipal,
    request: Request,
    response: Response,
) -> PersonAdminRead | PersonRead:
    """One person (retired ones too), with their signature blocks; `ETag` is their version. The
    Office's directory administrators also read `signing_mode` and `signing_certificate`."""
    person = await service.read_person(session, person_id)
    response.headers["ETag"] = etag(person.version)
    if service.reads_signing_setup(actor, request.app.state.settings.office_unit_code):
        return PersonAdminRead.model_validate(person)
    return PersonRead.model_validate(person)
