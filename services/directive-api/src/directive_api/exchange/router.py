"""edXML endpoints: export a document package, receive status packages and reply documents."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from common.app import SessionDep
from common.auth import CurrentPrincipal, require_roles
from common.edxml import EdxmlError, ParseLimits, parse_document_package, parse_status_package
from common.http import read_capped_body
from common.problems import (
    ConflictError,
    ForbiddenError,
    PayloadTooLargeError,
    UnprocessableError,
    UnsupportedMediaTypeError,
    problem_responses,
)
from common.storage import content_disposition
from directive_api.directives import service as directives
from directive_api.directives.errors import DirectiveNotFoundError
from directive_api.documents.service import PdfContext
from directive_api.exchange import service
from directive_api.exchange.service import NotIssuedError, SenderNotBoundError, UnknownDocumentError

router = APIRouter(prefix="/v1", tags=["edxml"])

EXCHANGE_ROLES = ("integration", "clerk", "admin")
XML_TYPES = ("application/xml", "text/xml", "application/edxml+xml", "application/octet-stream")


XML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/xml": {}}, "description": "The edXML package"}
}


class InvalidPackageError(UnprocessableError):
    title = "The edXML package was refused"


async def _read_package(request: Request) -> bytes:
    return await read_capped_body(
        request,
        limit=request.app.state.settings.max_exchange_bytes,
        media_types=XML_TYPES,
        expected="application/xml",
        what="package",
    )


def _limits(request: Request) -> ParseLimits:
    limit: int = request.app.state.settings.max_exchange_bytes
    return ParseLimits(max_bytes=limit, max_attachment_bytes=max(1, limit * 3 // 4))


@router.get(
    "/directives/{directive_id}/edxml",
    response_class=Response,
    responses=XML_RESPONSE | problem_responses(DirectiveNotFoundError, ForbiddenError, NotIssuedError, ConflictError),
)
async def export_edxml(
    directive_id: uuid.UUID,
    session: SessionDep,
    actor: CurrentPrincipal,
    request: Request,
    kind: Annotated[Literal["document", "revocation", "replacement"], Query()] = "document",
) -> Response:
    """The issued document as an edXML (QCVN 102:2016) package with the signed PDF attached;
    `kind=revocation` for a recalled one (BussinessDocType 1), `kind=replacement` for a document
    that replaces another (BussinessDocType 3)."""
    directive = await directives.get_directive(session, directive_id, actor=actor)
    if not (actor.unit == directive.issuer_code and actor.has_any(*EXCHANGE_ROLES, "monitor")):
        raise ForbiddenError("only the issuing office exports exchange packages")
    pdf: PdfContext = request.app.state.pdf
    data = await service.export(session, directive, kind=kind, settings=pdf.settings, store=pdf.store)
    name = f"{(directive.notation or str(directive.id)).replace('/', '-')}-{kind}.edxml"
    return Response(data, media_type="application/xml", headers={"Content-Disposition": content_disposition(name)})


class StatusApplied(BaseModel):
    status_code: str
    deliveries: list[dict[str, str]]


@router.post(
    "/edxml/status",
    response_model=StatusApplied,
    responses=problem_responses(
        SenderNotBoundError, InvalidPackageError, UnknownDocumentError, PayloadTooLargeError, UnsupportedMediaTypeError
    ),
    openapi_extra={"requestBody": {"content": {"application/xml": {"schema": {"type": "string"}}}, "required": True}},
)
async def receive_status(request: Request, session: SessionDep, actor: CurrentPrincipal) -> StatusApplied:
    """An incoming status package (01 arrived … 06 done, 13/15/16 recall and update answers):
    moves the sender's delivery of the referenced document to that status. The caller speaks for
    the sender: its own unit's token, or an exchange integration configured to relay for it (403)."""
    require_roles(actor, *EXCHANGE_ROLES)
    raw = await _read_package(request)
    try:
        package = parse_status_package(raw, limits=_limits(request))
    except EdxmlError as exc:
        raise InvalidPackageError(
            str(exc), code=str(exc.code.value if hasattr(exc.code, "value") else exc.code)
        ) from None
    pdf: PdfContext = request.app.state.pdf
    await service.bound_sender(session, actor, package.sender.organ_id, pdf.settings)
    deliveries = await service.apply_status_package(
        session, package, raw, settings=pdf.settings, store=pdf.store, now=request.app.state.clock()
    )
    return StatusApplied(
        status_code=package.status_code,
        deliveries=[
            {"directive_id": str(d.directive_id), "unit_code": d.unit_code, "status": d.status} for d in deliveries
        ],
    )


class ReplyLinked(BaseModel):
    links: list[dict[str, str]]


@router.post(
    "/edxml/inbox",
    response_model=ReplyLinked,
    status_code=202,
    responses=problem_responses(
        SenderNotBoundError, InvalidPackageError, UnknownDocumentError, PayloadTooLargeError, UnsupportedMediaTypeError
    ),
    openapi_extra={"requestBody": {"content": {"application/xml": {"schema": {"type": "string"}}}, "required": True}},
)
async def receive_document(request: Request, session: SessionDep, actor: CurrentPrincipal) -> ReplyLinked:
    """An incoming document package that answers one of ours (`ResponseFor`): it is kept and linked
    to the sender's delivery, and report-api is told so it can attach it to the unit's obligation.
    The caller speaks for the sender, as for status packages (403 otherwise)."""
    require_roles(actor, *EXCHANGE_ROLES)
    raw = await _read_package(request)
    try:
        package = parse_document_package(raw, limits=_limits(request))
    except EdxmlError as exc:
        raise InvalidPackageError(
            str(exc), code=str(exc.code.value if hasattr(exc.code, "value") else exc.code)
        ) from None
    pdf: PdfContext = request.app.state.pdf
    await service.bound_sender(session, actor, package.header.sender.organ_id, pdf.settings)
    linked = await service.apply_reply(session, package, raw, settings=pdf.settings, store=pdf.store)
    return ReplyLinked(
        links=[{"directive_id": str(directive.id), "unit_code": delivery.unit_code} for delivery, directive in linked]
    )
