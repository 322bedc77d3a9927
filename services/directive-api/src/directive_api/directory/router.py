"""HTTP routes of directory administration (role ``admin`` of the Office): units, groups, people,
their history, and the directory as JSON or CSV."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
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
    ProblemError,
    UnprocessableError,
    UnsupportedMediaTypeError,
    problem_responses,
)
from directive_api.directory import service
from directive_api.directory.errors import (
    DirectoryEntryExistsError,
    GroupInUseError,
    InvalidDirectoryEntryError,
    NotDirectoryAdminError,
    PersonInUseError,
    UnitInUseError,
)
from directive_api.directory.schemas import DirectoryChangeRead, DirectoryDocument, ImportResult
from directive_api.orgs.schemas import NO_CONTROL

router = APIRouter(prefix="/v1", tags=["directory administration"])

IfMatch = Annotated[str | None, Header(alias="If-Match", description="The ETag last read")]
CREATE_ERRORS = (BadRequestError, NotDirectoryAdminError, DirectoryEntryExistsError, InvalidDirectoryEntryError)
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


@dataclass(frozen=True)
class EntryRoutes:
    """The HTTP side of one kind of entry: ``POST /v1/{path}``, ``PATCH`` and ``DELETE /v1/{path}/{key}``."""

    kind: service.Kind
    path: str
    key_name: str
    """The path parameter's name (``code``, ``person_id``)."""
    key_max_length: int
    in_use: type[ProblemError]
    tags: tuple[str, ...]
    create_doc: str
    update_doc: str
    delete_doc: str


ENTRY_ROUTES = (
    EntryRoutes(
        service.UNIT,
        "orgs",
        "code",
        40,
        UnitInUseError,
        (),
        "Add a unit. With `notation` it issues documents under it (`UBND` → `01/UBND-KT`).",
        'Change a unit (only the fields given). `{"is_active": false}` retires it.',
        "Delete a unit nothing refers to; a unit in use answers 409 `unit-in-use` (retire it instead).",
    ),
    EntryRoutes(
        service.GROUP,
        "org-groups",
        "code",
        40,
        GroupInUseError,
        (),
        "Add a group of units.",
        "Change a group's name or whether letters can address it.",
        "Delete a group that has no units and that no document addresses.",
    ),
    EntryRoutes(
        service.PERSON,
        "people",
        "person_id",
        64,
        PersonInUseError,
        ("people",),
        "Add a person, with their roles and signature blocks.",
        'Change a person (only the fields given). `{"is_active": false}` retires them.',
        "Delete a person no document names; otherwise 409 `person-in-use` (retire them instead).",
    ),
)


def _answer(routes: EntryRoutes, entity: Any, *, status: int = 200) -> Response:
    body: BaseModel = routes.kind.read.model_validate(entity)
    headers = {"ETag": etag(entity.version)}
    if status == 201:
        headers["Location"] = f"/v1/{routes.path}/{getattr(entity, routes.kind.key)}"
    return Response(body.model_dump_json(), status_code=status, media_type="application/json", headers=headers)


def _parameters(*specs: tuple[str, Any] | tuple[str, Any, Any]) -> inspect.Signature:
    """The signature FastAPI reads the request with (the kinds' body and key types are only known here)."""
    parameters = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=spec[0],
            default=spec[1] if len(spec) > 1 else inspect.Parameter.empty,
        )
        for name, *spec in specs
    ]
    return inspect.Signature(parameters, return_annotation=Response)


def add_entry_routes(routes: EntryRoutes) -> None:
    """Register the create, update and delete routes of one kind of entry, each the same way."""
    kind = routes.kind
    key = Annotated[str, Path(max_length=routes.key_max_length, pattern=NO_CONTROL)]
    common = (("request", Request), ("session", SessionDep), ("actor", CurrentPrincipal))

    async def create(**values: Any) -> Response:
        request: Request = values["request"]
        service.ensure_admin(values["actor"], _admin_unit(request))
        entity = await service.create(values["session"], kind, values["body"], actor=values["actor"], now=_now(request))
        return _answer(routes, entity, status=201)

    async def update(**values: Any) -> Response:
        request: Request = values["request"]
        service.ensure_admin(values["actor"], _admin_unit(request))
        entity = await service.update(
            values["session"],
            kind,
            values[routes.key_name],
            values["body"],
            actor=values["actor"],
            if_match=values["if_match"],
            now=_now(request),
        )
        return _answer(routes, entity)

    async def delete(**values: Any) -> Response:
        request: Request = values["request"]
        service.ensure_admin(values["actor"], _admin_unit(request))
        await service.delete(
            values["session"],
            kind,
            values[routes.key_name],
            actor=values["actor"],
            if_match=values["if_match"],
            now=_now(request),
        )
        return Response(status_code=204)

    create.__signature__ = _parameters(("body", kind.create), *common)  # type: ignore[attr-defined]
    update.__signature__ = _parameters(  # type: ignore[attr-defined]
        (routes.key_name, key), ("body", kind.fields), *common, ("if_match", IfMatch, None)
    )
    delete.__signature__ = _parameters(  # type: ignore[attr-defined]
        (routes.key_name, key), *common, ("if_match", IfMatch, None)
    )
    tags: list[str | Enum] = [*routes.tags]
    item = f"/{routes.path}/{{{routes.key_name}}}"
    router.add_api_route(
        f"/{routes.path}",
        create,
        methods=["POST"],
        name=f"create_{kind.name}",
        description=routes.create_doc,
        status_code=201,
        response_model=kind.read,
        tags=tags,
        responses=problem_responses(*CREATE_ERRORS),
    )
    router.add_api_route(
        item,
        update,
        methods=["PATCH"],
        name=f"update_{kind.name}",
        description=routes.update_doc,
        response_model=kind.read,
        tags=tags,
        responses=problem_responses(kind.not_found, *CHANGE_ERRORS),
    )
    router.add_api_route(
        item,
        delete,
        methods=["DELETE"],
        name=f"delete_{kind.name}",
        description=routes.delete_doc,
        status_code=204,
        tags=tags,
        responses=problem_responses(kind.not_found, routes.in_use, *CHANGE_ERRORS),
    )


for _routes in ENTRY_ROUTES:
    add_entry_routes(_routes)


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
    rows = await service.list_changes(session, kind=kind, key=key, limit=limit, before_id=before)
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
