"""edXML endpoints: export a document package, receive status packages and reply documents."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from common.app import SessionDep
from common.auth import CurrentPrincipal, require_roles
from common.edxml import Attachment, EdxmlError, ParseLimits, parse_document_package, parse_status_package
from common.http import read_capped_body
from common.problems import (
    BadRequestError,
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
from directive_api.exchange import quarantine, received, service
from directive_api.exchange.errors import (
    InvalidPackageError,
    InvalidSignatureError,
    MissingOrganIdError,
    NotIssuedError,
    QuarantinedPackageNotFoundError,
    QuarantineResolvedError,
    RecalledDocumentError,
    SenderNotBoundError,
    UnknownDocumentError,
    UnknownUnitError,
)
from directive_api.exchange.schemas import (
    MapToUnit,
    QuarantinedRead,
    ReceivedChangeAnswer,
    ReceivedDetail,
    ReceivedRead,
    ReceivedStatusCreate,
    Reject,
    ReplyDetail,
    ReplyLinkCreate,
    ReplyLinked,
    ReplyLinkRead,
    StatusApplied,
)
from directive_api.pdfs.service import PdfContext

router = APIRouter(prefix="/v1", tags=["edxml"])

EXCHANGE_ROLES = ("integration", "clerk", "admin")
XML_TYPES = ("application/xml", "text/xml", "application/edxml+xml", "application/octet-stream")


XML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/xml": {}}, "description": "The edXML package"}
}
ATTACHMENT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "The attachment's bytes"}
}


async def _read_package(request: Request) -> bytes:
    return await read_capped_body(
        request,
        limit=request.app.state.settings.max_exchange_bytes,
        media_types=XML_TYPES,
        expected="application/xml",
        what="package",
    )


PackageId = Annotated[int, Path(ge=1, le=2**31 - 1)]
"""A kept package's id (an INTEGER column: anything larger is no package, not a database error)."""


def _attachment_response(found: Attachment) -> Response:
    return Response(
        found.content or b"",
        media_type=found.content_type or "application/octet-stream",
        headers={
            "Content-Disposition": content_disposition(found.attachment_name),
            "X-Content-Type-Options": "nosniff",
        },
    )


def _limits(request: Request) -> ParseLimits:
    limit: int = request.app.state.settings.max_exchange_bytes
    return ParseLimits(max_bytes=limit, max_attachment_bytes=max(1, limit * 3 // 4))


@router.get(
    "/directives/{directive_id}/edxml",
    response_class=Response,
    responses=XML_RESPONSE
    | problem_responses(
        DirectiveNotFoundError,
        ForbiddenError,
        NotIssuedError,
        ConflictError,
        RecalledDocumentError,
        MissingOrganIdError,
    ),
)
async def export_edxml(
    directive_id: uuid.UUID,
    session: SessionDep,
    actor: CurrentPrincipal,
    request: Request,
    kind: Annotated[Literal["document", "revocation", "replacement", "update"], Query()] = "document",
    only_with_organ_id: Annotated[
        bool, Query(description="Leave out recipients without an organ id instead of refusing the export")
    ] = False,
) -> Response:
    """The issued document as an edXML (QCVN 102:2016) package with the signed PDF attached, addressed
    by organ id; `kind=revocation` for a recalled one (BussinessDocType 1), `kind=replacement` for a
    document that replaces another (BussinessDocType 3), `kind=update` for a đính chính of an earlier
    document (BussinessDocType 2: `Bussiness/DocumentId` and a `ReplacementInfo` name the corrected
    document and its recipients). A recalled or replaced document is never exported as a new one
    (409, naming the kind to use). Refused (422, the units listed) when a
    recipient has no organ id, unless `only_with_organ_id=true`: then the units left out are named in
    the `Edxml-Skipped-Units` header (URL-encoded codes, comma-separated)."""
    directive = await directives.get_directive(session, directive_id, actor=actor)
    if not (actor.unit == directive.issuer_code and actor.has_any(*EXCHANGE_ROLES, "monitor")):
        raise ForbiddenError("only the issuing office exports exchange packages")
    pdf: PdfContext = request.app.state.pdf
    data, skipped = await service.export(
        session,
        directive,
        kind=kind,
        settings=pdf.settings,
        store=pdf.store,
        keys=pdf.keys,
        only_with_organ_id=only_with_organ_id,
    )
    name = f"{(directive.notation or str(directive.id)).replace('/', '-')}-{kind}.edxml"
    headers = {"Content-Disposition": content_disposition(name)}
    if skipped:
        headers["Edxml-Skipped-Units"] = ",".join(quote(unit.code, safe="") for unit in skipped)
    return Response(data, media_type="application/xml", headers=headers)


@router.post(
    "/edxml/status",
    response_model=StatusApplied,
    responses=problem_responses(
        SenderNotBoundError,
        InvalidPackageError,
        InvalidSignatureError,
        UnknownDocumentError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
    ),
    openapi_extra={"requestBody": {"content": {"application/xml": {"schema": {"type": "string"}}}, "required": True}},
)
async def receive_status(
    request: Request, response: Response, session: SessionDep, actor: CurrentPrincipal
) -> StatusApplied:
    """An incoming status package (01 arrived … 06 done, 13/15/16 recall and update answers):
    moves the sender's delivery of the referenced document to that status if it is further along
    (docs/events.md); a duplicate changes nothing. A recall request (13) by the sender of documents
    sent to us is kept for their clerk to answer (`received_documents`, no deliveries); one about a
    document that has not reached us yet (`waiting_for`) labels it when it arrives.
    From an organ id the directory does not know, the package is quarantined (202, `quarantine_id`).
    The caller speaks for the sender: its own unit's token, or an exchange integration configured to
    relay for it (403 otherwise)."""
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
    now = request.app.state.clock()
    recall = await received.apply_recall_request(session, package, raw, settings=pdf.settings, now=now)
    if recall is not None:
        return StatusApplied(
            status_code=package.status_code,
            deliveries=[],
            received_documents=[r.id for r in recall.labelled],
            waiting_for=recall.waiting_for,
        )
    applied = await service.apply_status_package(session, package, raw, settings=pdf.settings, store=pdf.store, now=now)
    if applied.quarantine_id is not None:
        response.status_code = 202
    return StatusApplied.of(package.status_code, applied)


@router.post(
    "/edxml/inbox",
    response_model=ReplyLinked,
    status_code=202,
    responses=problem_responses(
        SenderNotBoundError,
        InvalidPackageError,
        InvalidSignatureError,
        UnknownDocumentError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
    ),
    openapi_extra={"requestBody": {"content": {"application/xml": {"schema": {"type": "string"}}}, "required": True}},
)
async def receive_document(request: Request, session: SessionDep, actor: CurrentPrincipal) -> ReplyLinked:
    """An incoming document package that answers one of ours (`ResponseFor`): it is kept and linked
    to the sender's delivery, and report-api is told so it can attach it to the unit's obligation.
    From an organ id the directory does not know, the package is quarantined (`quarantine_id`). The
    caller speaks for the sender, as for status packages (403 otherwise)."""
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
    applied = await service.apply_reply(
        session, package, raw, settings=pdf.settings, store=pdf.store, now=request.app.state.clock()
    )
    return ReplyLinked.of(applied)


QUARANTINE_ROLES = ("admin",)


@router.get(
    "/edxml/quarantine",
    response_model=list[QuarantinedRead],
    responses=problem_responses(ForbiddenError),
)
async def list_quarantined(
    session: SessionDep,
    actor: CurrentPrincipal,
    state: Annotated[Literal["pending", "mapped", "rejected"] | None, Query()] = "pending",
) -> list[QuarantinedRead]:
    """Packages from organ ids the directory does not know (pending by default), for an
    administrator to map to a unit or reject."""
    require_roles(actor, *QUARANTINE_ROLES)
    return [QuarantinedRead.model_validate(p) for p in await quarantine.list_packages(session, state=state)]


@router.post(
    "/edxml/quarantine/{package_id}/map",
    response_model=list[QuarantinedRead],
    responses=problem_responses(
        BadRequestError,
        ForbiddenError,
        QuarantinedPackageNotFoundError,
        QuarantineResolvedError,
        UnknownUnitError,
        ConflictError,
    ),
)
async def map_quarantined(
    package_id: int, body: MapToUnit, request: Request, session: SessionDep, actor: CurrentPrincipal
) -> list[QuarantinedRead]:
    """The sender's organ id becomes the unit's identifier, and every pending package of that sender
    is applied (each package's `resolution` says what it did)."""
    require_roles(actor, *QUARANTINE_ROLES)
    pdf: PdfContext = request.app.state.pdf
    resolved = await quarantine.map_to_unit(
        session,
        package_id,
        body.unit_code,
        actor_id=actor.id,
        settings=pdf.settings,
        store=pdf.store,
        now=request.app.state.clock(),
    )
    return [QuarantinedRead.model_validate(p) for p in resolved]


@router.post(
    "/edxml/quarantine/{package_id}/reject",
    response_model=QuarantinedRead,
    responses=problem_responses(
        BadRequestError, ForbiddenError, QuarantinedPackageNotFoundError, QuarantineResolvedError
    ),
)
async def reject_quarantined(
    package_id: int, body: Reject, request: Request, session: SessionDep, actor: CurrentPrincipal
) -> QuarantinedRead:
    """Close the package without applying it (it stays in the archive trail)."""
    require_roles(actor, *QUARANTINE_ROLES)
    record = await quarantine.reject(session, package_id, body.reason, actor_id=actor.id, now=request.app.state.clock())
    return QuarantinedRead.model_validate(record)


RECEIVED_ROLES = ("clerk", "admin", "monitor", "auditor", "drafter")


@router.get("/edxml/received", response_model=list[ReceivedRead], responses=problem_responses(ForbiddenError))
async def list_received(session: SessionDep, actor: CurrentPrincipal, request: Request) -> list[ReceivedRead]:
    """Documents other organisations sent to the caller's unit over the exchange (newest first, 500 at
    most), with the furthest status we answered (01 arrived, 03 accepted, 06 done: docs/exchange.md)
    and every update, replacement or recall their sender asked (`changes`)."""
    require_roles(actor, *RECEIVED_ROLES)
    found = await received.list_for(session, actor, request.app.state.settings)
    return [ReceivedRead.of(r) for r in found]


@router.get(
    "/edxml/received/{received_id}",
    response_model=ReceivedDetail,
    responses=problem_responses(ForbiddenError, received.ReceivedNotFoundError),
)
async def get_received(
    received_id: uuid.UUID, session: SessionDep, actor: CurrentPrincipal, request: Request
) -> ReceivedDetail:
    """A received document as listed, with its package's header (code, subject, type, sender,
    promulgation and due dates, signer) and its attachments' names, media types and sizes. Seen by
    whoever sees it in the list (404 for anyone else, as for one that does not exist)."""
    require_roles(actor, *RECEIVED_ROLES)
    pdf: PdfContext = request.app.state.pdf
    opened = await received.open_received(
        session, received_id, actor=actor, settings=request.app.state.settings, store=pdf.store
    )
    return ReceivedDetail.opened(opened)


@router.get(
    "/edxml/received/{received_id}/attachments/{attachment}",
    response_class=Response,
    responses=ATTACHMENT_RESPONSE
    | problem_responses(ForbiddenError, received.ReceivedNotFoundError, received.ReceivedAttachmentNotFoundError),
)
async def get_received_attachment(
    received_id: uuid.UUID, attachment: str, session: SessionDep, actor: CurrentPrincipal, request: Request
) -> Response:
    """One attachment of a received document, by its position (from 0: all digits) or its
    `AttachmentName`, with the media type the package gives (`application/octet-stream` if none)."""
    require_roles(actor, *RECEIVED_ROLES)
    pdf: PdfContext = request.app.state.pdf
    opened = await received.open_received(
        session, received_id, actor=actor, settings=request.app.state.settings, store=pdf.store
    )
    _index, found = received.attachment_of(opened.package, attachment)
    return _attachment_response(found)


@router.post(
    "/edxml/received/{received_id}/reply",
    response_model=ReplyLinkRead,
    responses=problem_responses(
        BadRequestError, ForbiddenError, received.ReceivedNotFoundError, ConflictError, UnprocessableError
    ),
)
async def link_reply(
    received_id: uuid.UUID, body: ReplyLinkCreate, session: SessionDep, actor: CurrentPrincipal, request: Request
) -> ReplyLinkRead:
    """Our document `directive_id` (of the addressed unit, not yet dispatched) answers this received
    document: its edXML package carries `ResponseFor` to it, so the sender links it to its delivery."""
    require_roles(actor, "clerk", "drafter")
    link = await received.link_reply(
        session, received_id, body.directive_id, actor=actor, now=request.app.state.clock()
    )
    return ReplyLinkRead.model_validate(link)


@router.post(
    "/edxml/received/{received_id}/status",
    response_model=ReceivedRead,
    responses=problem_responses(
        BadRequestError,
        ForbiddenError,
        received.ReceivedNotFoundError,
        received.StatusTransitionError,
        UnprocessableError,
    ),
)
async def answer_received(
    received_id: uuid.UUID, body: ReceivedStatusCreate, session: SessionDep, actor: CurrentPrincipal, request: Request
) -> ReceivedRead:
    """A person of the addressed unit answers the sender with a status package: `02` refused (with a
    `reason`, only before `03`), `03` registered, `04` assigned, `05` processing, `06` done. Never
    backwards (409), the same code again changes nothing (200, no second package). Who may: docs/exchange.md."""
    require_roles(actor, *sorted({role for roles in received.ACTION_ROLES.values() for role in roles}))
    record, _queued = await received.act(
        session, received_id, body.code, body.reason, actor=actor, now=request.app.state.clock()
    )
    return ReceivedRead.of(record)


@router.post(
    "/edxml/received/{received_id}/change",
    response_model=ReceivedRead,
    responses=problem_responses(
        BadRequestError,
        ForbiddenError,
        received.ReceivedNotFoundError,
        received.ReceivedChangeNotFoundError,
        received.NoChangeRequestedError,
        received.ChangeNotNamedError,
        received.StatusTransitionError,
    ),
)
async def answer_change(
    received_id: uuid.UUID, body: ReceivedChangeAnswer, session: SessionDep, actor: CurrentPrincipal, request: Request
) -> ReceivedRead:
    """The addressed unit's clerk agrees (`15`) or refuses (`16`) an update, replacement or recall its
    sender asked for: the one `change_id` names (one of `changes`), else the only one waiting for an
    answer (409 `…/change-not-named` when several wait). An agreed recall or revocation marks the
    document recalled. The same answer again changes nothing; the other one after it is a 409."""
    require_roles(actor, "clerk")
    record, _queued = await received.answer_change(
        session,
        received_id,
        body.decision == "agree",
        body.reason,
        change_id=body.change_id,
        actor=actor,
        now=request.app.state.clock(),
    )
    return ReceivedRead.of(record)


@router.get(
    "/edxml/replies/{package_id}",
    response_model=ReplyDetail,
    responses=problem_responses(received.ReplyNotFoundError),
)
async def get_reply(
    package_id: PackageId, session: SessionDep, actor: CurrentPrincipal, request: Request
) -> ReplyDetail:
    """A unit's reply document linked to its delivery (`reply.package_id` on the document's
    recipients): its package's header and attachments, for whoever sees that delivery there (404 for
    anyone else, as for one that does not exist)."""
    pdf: PdfContext = request.app.state.pdf
    return ReplyDetail.opened(await received.open_reply(session, package_id, actor=actor, store=pdf.store))


@router.get(
    "/edxml/replies/{package_id}/attachments/{attachment}",
    response_class=Response,
    responses=ATTACHMENT_RESPONSE
    | problem_responses(received.ReplyNotFoundError, received.ReceivedAttachmentNotFoundError),
)
async def get_reply_attachment(
    package_id: PackageId, attachment: str, session: SessionDep, actor: CurrentPrincipal, request: Request
) -> Response:
    """One attachment of a reply, by its position (from 0) or its `AttachmentName`."""
    pdf: PdfContext = request.app.state.pdf
    reply = await received.open_reply(session, package_id, actor=actor, store=pdf.store)
    _index, found = received.attachment_of(reply.package, attachment)
    return _attachment_response(found)
