"""HTTP routes of directory administration (role ``admin`` of the Office): units, groups, people,
their history, and the directory as JSON or CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, ValidationError

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.http import etag
from common.problems import (
    BadRequestError,
    PreconditionFailedError,
    PreconditionRequiredError,
    UnprocessableError,
    UnsupportedMediaTypeError,
    problem_responses,
)
from directive_api.directory import repository, service
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
    DirectoryChangeRead,
    DirectoryDocument,
    GroupAdminRead,
    GroupCreate,
    GroupFields,
    ImportResult,
    PersonAdminRead,
    PersonCreate,
    PersonFields,
    UnitAdminRead,
    UnitCreate,
    UnitFields,
)

router = APIRouter(prefix="/v1", tags=["directory administration"])

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The ETag last read")]
CHANGE_ERRORS = (
    BadRequestError,
    NotDirectoryAdminError,
    InvalidDirectoryEntryError,
    PreconditionFailedError,
    PreconditionRequiredError,
)


def _admin_unit(request: Request) -> str:
    unit: str = request.app.state.settings.office_unit_code
    return unit


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def _answer(kind: service.Kind, entity: Any, *, status: int = 200) -> Response:
    body: BaseModel = kind.read.model_validate(entity)
    headers = {"ETag": etag(entity.version)}
    if status == 201:
        headers["Location"] = f"/v1/{_PATHS[kind.name]}/{getattr(entity, kind.key)}"
    return Response(body.model_dump_json(), status_code=status, media_type="application/json", headers=headers)


_PATHS = {"unit": "orgs", "group": "org-groups", "person": "people"}


async def _create(request: Request, session: Any, actor: Any, kind: service.Kind, body: BaseModel) -> Response:
    service.ensure_admin(actor, _admin_unit(request))
    entity = await service.create(session, kind, body, actor=actor, now=_now(request))
    return _answer(kind, entity, status=201)


async def _update(
    request: Request, session: Any, actor: Any, kind: service.Kind, key: str, body: BaseModel, if_match: str | None
) -> Response:
    service.ensure_admin(actor, _admin_unit(request))
    entity = await service.update(session, kind, key, body, actor=actor, if_match=if_match, now=_now(request))
    return _answer(kind, entity)


async def _delete(
    request: Request, session: Any, actor: Any, kind: service.Kind, key: str, if_match: str | None
) -> Response:
    service.ensure_admin(actor, _admin_unit(request))
    await service.delete(session, kind, key, actor=actor, if_match=if_match, now=_now(request))
    return Response(status_code=204)


UnitCode = Annotated[str, Path(max_length=40, pattern=NO_CONTROL)]
PersonId = Annotated[str, Path(max_length=64, pattern=NO_CONTROL)]


@router.post(
    "/orgs",
    status_code=201,
    response_model=UnitAdminRead,
    responses=problem_responses(
        BadRequestError, NotDirectoryAdminError, DirectoryEntryExistsError, InvalidDirectoryEntryError
    ),
)
async def create_unit(body: UnitCreate, request: Request, session: SessionDep, actor: CurrentPrincipal) -> Response:
    """Add a unit. With `notation` it issues documents under it (`UBND` → `01/UBND-KT`)."""
    return await _create(request, session, actor, service.UNIT, body)


@router.patch(
    "/orgs/{code}",
    response_model=UnitAdminRead,
    responses=problem_responses(UnitNotFoundError, *CHANGE_ERRORS),
)
async def update_unit(
    code: UnitCode,
    body: UnitFields,
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    """Change a unit (only the fields given). `{"is_active": false}` retires it."""
    return await _update(request, session, actor, service.UNIT, code, body, if_match)


@router.delete(
    "/orgs/{code}",
    status_code=204,
    responses=problem_responses(UnitNotFoundError, UnitInUseError, *CHANGE_ERRORS),
)
async def delete_unit(
    code: UnitCode, request: Request, session: SessionDep, actor: CurrentPrincipal, if_match: IfMatch = None
) -> Response:
    """Delete a unit nothing refers to; a unit in use answers 409 `unit-in-use` (retire it instead)."""
    return await _delete(request, session, actor, service.UNIT, code, if_match)


@router.post(
    "/org-groups",
    status_code=201,
    response_model=GroupAdminRead,
    responses=problem_responses(
        BadRequestError, NotDirectoryAdminError, DirectoryEntryExistsError, InvalidDirectoryEntryError
    ),
)
async def create_group(body: GroupCreate, request: Request, session: SessionDep, actor: CurrentPrincipal) -> Response:
    """Add a group of units."""
    return await _create(request, session, actor, service.GROUP, body)


@router.patch(
    "/org-groups/{code}",
    response_model=GroupAdminRead,
    responses=problem_responses(GroupNotFoundError, *CHANGE_ERRORS),
)
async def update_group(
    code: UnitCode,
    body: GroupFields,
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    """Change a group's name or whether letters can address it."""
    return await _update(request, session, actor, service.GROUP, code, body, if_match)


@router.delete(
    "/org-groups/{code}",
    status_code=204,
    responses=problem_responses(GroupNotFoundError, GroupInUseError, *CHANGE_ERRORS),
)
async def delete_group(
    code: UnitCode, request: Request, session: SessionDep, actor: CurrentPrincipal, if_match: IfMatch = None
) -> Response:
    """Delete a group that has no units and that no document addresses."""
    return await _delete(request, session, actor, service.GROUP, code, if_match)


@router.post(
    "/people",
    status_code=201,
    response_model=PersonAdminRead,
    tags=["people"],
    responses=problem_responses(
        BadRequestError, NotDirectoryAdminError, DirectoryEntryExistsError, InvalidDirectoryEntryError
    ),
)
async def create_person(body: PersonCreate, request: Request, session: SessionDep, actor: CurrentPrincipal) -> Response:
    """Add a person, with their roles and signature blocks."""
    return await _create(request, session, actor, service.PERSON, body)


@router.patch(
    "/people/{person_id}",
    response_model=PersonAdminRead,
    tags=["people"],
    responses=problem_responses(PersonNotFoundError, *CHANGE_ERRORS),
)
async def update_person(
    person_id: PersonId,
    body: PersonFields,
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    """Change a person (only the fields given). `{"is_active": false}` retires them."""
    return await _update(request, session, actor, service.PERSON, person_id, body, if_match)


@router.delete(
    "/people/{person_id}",
    status_code=204,
    tags=["people"],
    responses=problem_responses(PersonNotFoundError, PersonInUseError, *CHANGE_ERRORS),
)
async def delete_person(
    person_id: PersonId, request: Request, session: SessionDep, actor: CurrentPrincipal, if_match: IfMatch = None
) -> Response:
    """Delete a person no document names; otherwise 409 `person-in-use` (retire them instead)."""
    return await _delete(request, session, actor, service.PERSON, person_id, if_match)


@router.get(
    "/directory/changes",
    response_model=list[DirectoryChangeRead],
    responses=problem_responses(NotDirectoryAdminError),
)
async def list_changes(
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    kind: Literal["unit", "group", "person"] | None = None,
    key: Annotated[str | None, Query(max_length=64, pattern=NO_CONTROL)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, description="Only changes older than this id (paging)")] = None,
) -> list[DirectoryChangeRead]:
    """The directory's history, newest first: who changed what, when, before and after."""
    service.ensure_reader_of_history(actor, _admin_unit(request))
    rows = await repository.changes(session, kind=kind, key=key, limit=limit, before_id=before)
    return [DirectoryChangeRead.model_validate(r) for r in rows]


CSV = "text/csv; charset=utf-8"
Plural = Literal["groups", "units", "people"]


@router.get(
    "/directory/export",
    response_model=DirectoryDocument,
    responses={
        **problem_responses(NotDirectoryAdminError),
        200: {"content": {"application/json": {}, "text/csv": {}}, "description": "The directory"},
    },
)
async def export_directory(
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    format: Literal["json", "csv"] = "json",  # noqa: A002 - the query parameter's name
    kind: Plural | None = Query(None, description="With format=csv: which kind (one CSV per kind)"),
) -> Response:
    """The whole directory (retired entries included) as JSON, or one kind of it as CSV."""
    service.ensure_admin(actor, _admin_unit(request))
    document = await service.export(session)
    if format == "json":
        return Response(document.model_dump_json(warnings=False), media_type="application/json")
    if kind is None:
        raise UnprocessableError("format=csv needs kind=groups|units|people")
    text = service.to_csv(service.KINDS[kind], getattr(document, kind))
    return Response(
        text.encode("utf-8"),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="directory-{kind}.csv"'},
    )


@router.post(
    "/directory/import",
    response_model=ImportResult,
    responses=problem_responses(NotDirectoryAdminError, InvalidDirectoryEntryError, UnsupportedMediaTypeError),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/DirectoryDocument"}},
                "text/csv": {"schema": {"type": "string"}},
            },
            "required": True,
        }
    },
)
async def import_directory(
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    kind: Plural | None = Query(None, description="With a CSV body: which kind the rows are"),
) -> ImportResult:
    """Create or overwrite entries, all or none: JSON as the export gives it, or the CSV of one kind.

    Fields an entry leaves out (or empty CSV cells) stay as they are; unchanged entries keep their
    version. Every change is in the history with the action `import`.
    """
    service.ensure_admin(actor, _admin_unit(request))
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if media == "application/json":
        try:
            document = DirectoryDocument.model_validate_json(raw)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            raise UnprocessableError(
                "the directory document is invalid",
                errors=[{"location": ["body", *[str(p) for p in e["loc"]]], "message": e["msg"]} for e in errors],
            ) from None
    elif media == "text/csv":
        if kind is None:
            raise UnprocessableError("a CSV import needs kind=groups|units|people")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UnprocessableError("the CSV must be UTF-8") from None
        document = service.from_csv(service.KINDS[kind], text)
    else:
        raise UnsupportedMediaTypeError("send application/json or text/csv")
    return await service.import_document(session, document, actor=actor, now=_now(request))
