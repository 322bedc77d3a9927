"""HTTP routes of documents and registers."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from common.app import ReadConnectionDep, SessionDep
from common.auth import CurrentPrincipal, Principal
from common.http import etag, idempotent, read_capped_body
from common.problems import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    PayloadTooLargeError,
    PreconditionFailedError,
    UnprocessableError,
    UnsupportedMediaTypeError,
    problem_responses,
)
from common.storage import content_disposition
from common.workflow import CommentRequiredError, TransitionNotAllowedError, UnknownTransitionError
from directive_api.directives import register_export, service
from directive_api.directives.errors import (
    DirectiveNotEditableError,
    DirectiveNotFoundError,
    DirectiveNotVisibleError,
    InvalidReferenceError,
    RegisterNotFoundError,
    RetiredRecipientError,
)
from directive_api.directives.lifecycle import (
    DIRECTIVE_WORKFLOW,
    DOC_TYPES,
    INTERNAL_TRANSITIONS,
    DirectiveStatus,
    notation_suffix,
    place_and_date,
)
from directive_api.directives.models import IdempotencyRecord
from directive_api.directives.schemas import (
    AttachmentRead,
    DirectiveCreate,
    DirectivePage,
    DirectiveRead,
    DirectiveUpdate,
    HistoryEntryRead,
    RegisterEntryRead,
    RegisterRead,
    TransitionRequest,
)
from directive_api.pdfs.router import PDF_RESPONSE, pdf_response
from directive_api.signing import service as signing
from directive_api.signing.schemas import SigningRequestRead

_directives = APIRouter(prefix="/v1", tags=["directives"])
_documents = APIRouter(prefix="/v1", tags=["documents"])
"""The document's PDF keeps the ``documents`` tag it had in the pdfs slice (only that tag)."""

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REGISTER_EXPORT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {XLSX: {}, "application/pdf": {}}, "description": "The register"}
}

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='The ETag you read, e.g. `"3"`. Required: 428 without it, 412 if stale.'),
]


def to_read(directive: service.DirectiveRecord, actor: Principal) -> DirectiveRead:
    """The API view of a document, with what the caller may do next."""
    suffix = notation_suffix(directive.doc_type, directive.issuer_notation, directive.drafting_unit)
    number_line = f"Số: {directive.notation}" if directive.notation else f"Số:    /{suffix}"
    return DirectiveRead(
        id=directive.id,
        public_id=directive.public_id,
        doc_type=directive.doc_type,
        doc_type_name=DOC_TYPES[directive.doc_type][0],
        status=directive.status,
        version=directive.version,
        etag=etag(directive.version),
        issuer_code=directive.issuer_code,
        drafting_unit=directive.drafting_unit,
        subject=directive.subject,
        addressees=directive.addressees,
        body=directive.body,
        annexes=directive.annexes or [],
        second_signature=directive.second_signature,
        attachments=[AttachmentRead(**a) for a in directive.attachments or []],
        signer_id=directive.signer_id,
        signer_name=directive.signer_name,
        signature_title_lines=directive.signature_title_lines,
        info_recipients=directive.info_recipients,
        archive_line=directive.archive_line,
        urgency=directive.urgency,
        secrecy=directive.secrecy,
        compliance=directive.compliance,
        drafter_initials=directive.drafter_initials,
        copies=directive.copies,
        register_code=directive.register_code,
        number=directive.number,
        notation=directive.notation,
        number_line=number_line,
        place_date_line=place_and_date(directive.place_name, directive.issued_on),
        issued_on=directive.issued_on,
        issued_at=directive.issued_at,
        issued_by=directive.issued_by,
        approved_by=directive.approved_by,
        approved_at=directive.approved_at,
        drafted_by=directive.drafted_by,
        created_at=directive.created_at,
        updated_at=directive.updated_at,
        allowed_actions=[
            action for action in DIRECTIVE_WORKFLOW.available(directive, actor) if action not in INTERNAL_TRANSITIONS
        ]
        if actor.unit == directive.issuer_code
        else [],
        signed_sha256=directive.signed_sha256,
        issued_sha256=directive.issued_sha256,
        dispatched_at=directive.dispatched_at,
        archived_at=directive.archived_at,
        records_file_id=directive.records_file_id,
        recalled_at=directive.recalled_at,
        recall_reason=directive.recall_reason,
        replaced_by_id=directive.replaced_by_id,
        replaces_id=directive.replaces_id,
        corrects_id=directive.corrects_id,
    )


def _respond(
    directive: service.DirectiveRecord, actor: Principal, response: Response, *, status_code: int = 200
) -> Response:
    # The model is built (and so validated) once here; returning a Response spares FastAPI a second
    # validation of the same data against response_model, which the OpenAPI still documents.
    del response  # the headers go on the Response returned here
    return Response(
        to_read(directive, actor).model_dump_json(),
        media_type="application/json",
        headers={"ETag": etag(directive.version)},
        status_code=status_code,
    )


@_directives.post(
    "/directives",
    status_code=201,
    response_model=DirectiveRead,
    responses=problem_responses(BadRequestError, ForbiddenError, InvalidReferenceError, ConflictError),
)
async def create_directive(
    body: DirectiveCreate,
    session: SessionDep,
    actor: CurrentPrincipal,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", description="Retry-safe creation: same key, same result.")
    ] = None,
) -> JSONResponse:
    """Create a draft document (status `draft`). Number and date are given only at issue."""

    async def create() -> tuple[int, Any, str | None]:
        directive = await service.create_directive(session, body, actor=actor)
        return 201, to_read(directive, actor).model_dump(mode="json"), str(directive.id)

    status, payload, replayed = await idempotent(
        session,
        IdempotencyRecord,
        key=idempotency_key,
        principal=actor.id,
        endpoint="POST /v1/directives",
        body=body.model_dump(mode="json"),
        create=create,
    )
    headers = {"ETag": etag(int(payload["version"])), "Location": f"/v1/directives/{payload['id']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(payload, status_code=status, headers=headers)


@_directives.get("/directives", response_model=DirectivePage, responses=problem_responses(ForbiddenError))
async def list_directives(
    session: SessionDep,
    actor: CurrentPrincipal,
    status: Annotated[DirectiveStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> DirectivePage:
    """Documents the caller may see, newest first: the office's own, or those issued to the caller's unit."""
    rows, next_cursor = await service.list_directives(
        session, actor=actor, status=status.value if status else None, limit=limit, cursor=cursor
    )
    return DirectivePage(items=[to_read(d, actor) for d in rows], next_cursor=next_cursor)


@_directives.get(
    "/directives/{directive_id}",
    response_model=DirectiveRead,
    responses=problem_responses(DirectiveNotFoundError, DirectiveNotVisibleError),
)
async def get_directive(
    directive_id: uuid.UUID, connection: ReadConnectionDep, actor: CurrentPrincipal, response: Response
) -> Response:
    """One document, with its ETag."""
    directive = await service.read_directive(connection, directive_id, actor=actor)
    return _respond(directive, actor, response)


@_directives.patch(
    "/directives/{directive_id}",
    response_model=DirectiveRead,
    responses=problem_responses(
        BadRequestError,
        DirectiveNotFoundError,
        ForbiddenError,
        DirectiveNotEditableError,
        PreconditionFailedError,
        InvalidReferenceError,
    )
    | {428: {"description": "If-Match is required"}},
)
async def update_directive(
    directive_id: uuid.UUID,
    body: DirectiveUpdate,
    session: SessionDep,
    actor: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> Response:
    """Edit a draft (status `draft` or `returned`). Send the ETag you read in `If-Match`."""
    directive = await service.update_directive(session, directive_id, body, actor=actor, if_match=if_match)
    return _respond(directive, actor, response)


@_directives.post(
    "/directives/{directive_id}/attachments",
    response_model=DirectiveRead,
    status_code=201,
    responses=problem_responses(
        DirectiveNotFoundError,
        ForbiddenError,
        DirectiveNotEditableError,
        PreconditionFailedError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
        UnprocessableError,
    )
    | {428: {"description": "If-Match is required"}},
    openapi_extra={
        "requestBody": {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
)
async def add_attachment(
    directive_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    response: Response,
    name: Annotated[
        str | None, Query(max_length=200, description="File name to list, e.g. `bao-cao.pdf` (default: numbered)")
    ] = None,
    if_match: IfMatch = None,
) -> Response:
    """Attach a PDF (body `application/pdf`) to a draft: hashed, listed under the body with its size and
    SHA-256, and embedded in the signed PDF. Send the ETag you read in `If-Match`."""

    async def read_body(limit: int) -> bytes:
        return await read_capped_body(
            request,
            limit=limit,
            media_types=("application/pdf", "application/octet-stream"),
            expected="application/pdf",
            what="attachment",
        )

    directive = await service.add_attachment(
        session, directive_id, read_body, name=name, actor=actor, if_match=if_match, store=request.app.state.pdf.store
    )
    return _respond(directive, actor, response, status_code=201)


def _transition_route(action: str, summary: str) -> None:
    async def transition(
        directive_id: uuid.UUID,
        session: SessionDep,
        actor: CurrentPrincipal,
        request: Request,
        response: Response,
        if_match: IfMatch = None,
        body: TransitionRequest | None = None,
    ) -> Response:
        directive = await service.fire(
            session,
            directive_id,
            action,
            actor=actor,
            if_match=if_match,
            comment=body.comment if body else None,
            request_body=body,
            clock=request.app.state.clock,
            timezone=request.app.state.settings.timezone,
            pdf=request.app.state.pdf,
        )
        if action == "approve" and directive.status == DirectiveStatus.awaiting_signature:
            # A signer whose key is on their token or at a remote service: 202 with what to sign.
            pending = await signing.pending_for(session, directive.id)
            assert pending is not None
            return Response(
                signing.to_read(pending).model_dump_json(),
                media_type="application/json",
                status_code=202,
                headers={"ETag": etag(directive.version), "Location": f"/v1/signing-requests/{pending.id}"},
            )
        return _respond(directive, actor, response)

    transition.__name__ = f"{action}_directive"
    transition.__doc__ = summary
    _directives.add_api_route(
        f"/directives/{{directive_id}}/{action}",
        transition,
        methods=["POST"],
        response_model=DirectiveRead,
        name=f"{action}_directive",
        summary=summary.split(".")[0],
        description=summary,
        responses=problem_responses(
            BadRequestError,
            DirectiveNotFoundError,
            ForbiddenError,
            TransitionNotAllowedError,
            PreconditionFailedError,
            CommentRequiredError,
            UnknownTransitionError,
            RetiredRecipientError,
        )
        | {428: {"description": "If-Match is required"}}
        | (_SIGNING_REQUEST_RESPONSE if action == "approve" else {}),
    )


_SIGNING_REQUEST_RESPONSE: dict[int | str, dict[str, Any]] = {
    202: {
        "model": SigningRequestRead,
        "description": (
            "The signer signs with their own token (`client`) or a remote service (`remote`): the document "
            "is `awaiting_signature` and this is the signing request."
        ),
    }
}


for _name, _transition in DIRECTIVE_WORKFLOW.transitions.items():
    if _name in INTERNAL_TRANSITIONS:
        continue
    _roles = ", ".join(sorted(_transition.roles))
    _transition_route(_name, f"{_transition.description} Who: {_roles}. Send the ETag in `If-Match`.")


@_documents.get(
    "/directives/{directive_id}/pdf",
    responses=PDF_RESPONSE | problem_responses(DirectiveNotFoundError, DirectiveNotVisibleError),
    response_class=Response,
)
async def get_directive_pdf(
    directive_id: uuid.UUID, session: SessionDep, actor: CurrentPrincipal, request: Request
) -> Response:
    """The document's PDF: the issued e-original once issued, the signer-signed file once approved,
    otherwise a draft preview marked "DỰ THẢO". The SHA-256 is in `X-Content-SHA256`."""
    file = await service.document_pdf(
        session, directive_id, actor=actor, pdf=request.app.state.pdf, now=request.app.state.clock()
    )
    return pdf_response(file)


@_directives.get(
    "/directives/{directive_id}/history",
    response_model=list[HistoryEntryRead],
    responses=problem_responses(DirectiveNotFoundError, DirectiveNotVisibleError),
)
async def get_directive_history(
    directive_id: uuid.UUID, session: SessionDep, actor: CurrentPrincipal
) -> list[HistoryEntryRead]:
    """Who did what and when, oldest first (one entry per change)."""
    rows = await service.history(session, directive_id, actor=actor)
    return [HistoryEntryRead.model_validate(r) for r in rows]


@_directives.get(
    "/registers/{issuer_code}/{code}/{year}",
    response_model=RegisterRead,
    tags=["registers"],
    responses=problem_responses(RegisterNotFoundError, ForbiddenError),
)
async def get_register(
    issuer_code: Annotated[str, Path(max_length=40)],
    code: Annotated[str, Path(max_length=20)],
    year: Annotated[int, Path(ge=1900, le=9999)],
    session: SessionDep,
    actor: CurrentPrincipal,
) -> RegisterRead:
    """The outgoing register (sổ đăng ký văn bản đi) of an issuer for a year, in number order."""
    register, entries = await service.get_register(session, issuer_code=issuer_code, code=code, year=year, actor=actor)
    return RegisterRead(
        issuer_code=register.issuer_code,
        code=register.code,
        year=register.year,
        last_number=register.last_number,
        entries=[RegisterEntryRead.model_validate(e) for e in entries],
    )


@_directives.get(
    "/registers/{issuer_code}/{code}/{year}/export",
    tags=["registers"],
    response_class=Response,
    responses=REGISTER_EXPORT_RESPONSE | problem_responses(RegisterNotFoundError, ForbiddenError),
)
async def export_register(
    issuer_code: Annotated[str, Path(max_length=40)],
    code: Annotated[str, Path(max_length=20)],
    year: Annotated[int, Path(ge=1900, le=9999)],
    session: SessionDep,
    actor: CurrentPrincipal,
    format: Annotated[Literal["xlsx", "pdf"], Query()] = "xlsx",  # noqa: A002 - the query parameter's name
) -> Response:
    """The outgoing register with the decree's ten columns, as XLSX or as PDF (A4 landscape)."""
    register, issuer, lines = await service.register_export_data(
        session, issuer_code=issuer_code, code=code, year=year, actor=actor
    )
    name = f"Sổ đăng ký văn bản đi {issuer_code} {code} {year}.{format}"
    if format == "xlsx":
        data, media_type = register_export.to_xlsx(register, issuer, lines), XLSX
    else:
        data = await register_export.to_pdf(register, issuer, lines)
        media_type = "application/pdf"
    return Response(data, media_type=media_type, headers={"Content-Disposition": content_disposition(name)})


@_directives.get(
    "/registers", response_model=list[dict[str, Any]], tags=["registers"], responses=problem_responses(ForbiddenError)
)
async def list_registers(session: SessionDep, actor: CurrentPrincipal) -> list[dict[str, Any]]:
    """The registers of the caller's unit, with their last numbers."""
    rows = await service.list_registers(session, actor=actor)
    return [{"issuer_code": r.issuer_code, "code": r.code, "year": r.year, "last_number": r.last_number} for r in rows]


router = APIRouter()
router.include_router(_directives)
router.include_router(_documents)
