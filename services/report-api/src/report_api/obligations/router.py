"""HTTP routes of obligations, reports, follow-up, compliance views and the event feed/inbox."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Header, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy import select

from common.app import SessionDep
from common.auth import CurrentPrincipal, Principal
from common.http import etag
from common.outbox import feed, receive
from common.problems import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    PreconditionFailedError,
    problem_responses,
)
from common.storage import content_disposition
from common.webhooks import WebhookVerificationError
from common.workflow import CommentRequiredError, TransitionNotAllowedError
from report_api.exports import service as exports
from report_api.obligations import compliance, evidence, service
from report_api.obligations.errors import (
    DirectiveNotFoundError,
    EventInvalidError,
    EvidenceNotFoundError,
    EvidenceTooLargeError,
    EvidenceTypeError,
    ExtensionRequestNotFoundError,
    NotAcceptableError,
    ObligationNotFoundError,
    OfficeOnlyError,
    ReportInvalidError,
    WebhookNotConfiguredError,
    WebhookRejectedError,
)
from report_api.obligations.inbox import apply_event
from report_api.obligations.lifecycle import OBLIGATION_WORKFLOW, REMINDER_LABELS, STATUS_LABELS, ObligationStatus, Role
from report_api.obligations.models import DirectiveRecord, Evidence, Obligation, OutboxEvent
from report_api.obligations.schemas import (
    ComplianceSummary,
    EventEnvelope,
    EventPage,
    EvidenceRead,
    ExtensionCreate,
    ExtensionDecision,
    ExtensionRead,
    HistoryEntryRead,
    InboxResult,
    ObligationDetail,
    ObligationPage,
    ObligationRead,
    ReminderCreate,
    ReminderRead,
    ReviewRequest,
    SubmissionCreate,
    SubmissionRead,
)
from report_api.settings import Settings

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1")

IfMatch = Annotated[
    str | None, Header(alias="If-Match", description='Optional: the ETag you read (`"3"`); 412 if it is stale.')
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
DEFAULT_UNIT_ROWS = 500
MAX_UNIT_ROWS = 5_000
MAX_EVENT_BYTES = 4 * 1024 * 1024


def context(request: Request) -> service.Context:
    settings: Settings = request.app.state.settings
    return service.Context(settings=settings, clock=request.app.state.clock, calendar=request.app.state.calendar)


def to_read(
    obligation: Obligation, directive: DirectiveRecord, actor: Principal, ctx: service.Context
) -> ObligationRead:
    days = service.overdue_days(obligation, ctx.today(), ctx.calendar)
    actions = OBLIGATION_WORKFLOW.available(obligation, actor) if not service.is_closed(obligation) else []
    return ObligationRead(
        id=obligation.id,
        directive=compliance.directive_summary(directive),
        unit_code=obligation.unit_code,
        unit_name=obligation.unit_name,
        group_code=obligation.group_code,
        status=obligation.status,
        status_label=STATUS_LABELS[obligation.status],
        version=obligation.version,
        etag=etag(obligation.version),
        due_on=obligation.due_on,
        original_due_on=obligation.original_due_on,
        overdue=days > 0,
        working_days_overdue=days,
        acknowledged_at=obligation.acknowledged_at,
        first_submitted_at=obligation.first_submitted_at,
        accepted_at=obligation.accepted_at,
        submission_count=obligation.submission_count,
        reminder_counts=compliance.counts(obligation),
        allowed_actions=actions,
        carried_from_id=obligation.carried_from_id,
    )


async def _detail(
    session: Any, obligation_id: uuid.UUID, actor: Principal, ctx: service.Context, response: Response
) -> ObligationDetail:
    d = await service.detail(session, obligation_id, actor, ctx)
    base = to_read(d.obligation, d.directive, actor, ctx)
    response.headers["ETag"] = base.etag
    return ObligationDetail(
        **base.model_dump(),
        instructions=(d.directive.compliance or {}).get("instructions"),
        report_schema=d.directive.report_schema,
        history=[HistoryEntryRead.model_validate(h, from_attributes=True) for h in d.history],
        submissions=[SubmissionRead.model_validate(s, from_attributes=True) for s in d.submissions],
        evidence=[EvidenceRead.model_validate(e, from_attributes=True) for e in d.evidence],
        extension_requests=[ExtensionRead.model_validate(x, from_attributes=True) for x in d.extensions],
        reminders=[
            ReminderRead(
                id=r.id,
                kind=r.kind,
                kind_label=REMINDER_LABELS[r.kind],
                sequence=r.sequence,
                content=r.content,
                source=r.source,
                escalated_to=r.escalated_to,
                sent_by=r.sent_by,
                sent_at=r.sent_at,
            )
            for r in d.reminders
        ],
    )


# --- directive-api's events in -----------------------------------------------------------------


async def _not_seen(_event_id: str) -> bool:
    return False


@router.post(
    "/inbox/events",
    tags=["events"],
    response_model=InboxResult,
    responses=problem_responses(WebhookRejectedError, EventInvalidError, WebhookNotConfiguredError),
)
async def receive_event(request: Request, session: SessionDep) -> InboxResult:
    """Webhook receiver for directive-api's events, authenticated by a Standard Webhooks signature.

    Deliveries are de-duplicated on `webhook-id` (= the event id): a retry answers `duplicate`.
    """
    settings: Settings = request.app.state.settings
    secrets = settings.webhook_secret_list()
    if not secrets:
        raise WebhookNotConfiguredError("set REPORT_API_WEBHOOK_SECRETS")
    body = await request.body()
    if len(body) > MAX_EVENT_BYTES:
        raise EventInvalidError("the event is too large")
    now = request.app.state.clock()
    try:
        # apply_event de-duplicates on the event id, with the feed's path: nothing is "seen" here.
        received = await receive(
            request.headers,
            body,
            secrets,
            _not_seen,
            tolerance_seconds=settings.webhook_tolerance_seconds,
            now=now.timestamp(),
        )
    except WebhookVerificationError as exc:
        raise WebhookRejectedError(str(exc), reason=exc.reason) from None
    except ValueError as exc:  # not a JSON object, or its id differs from the webhook-id
        raise EventInvalidError(str(exc)) from None
    payload = received.event
    try:
        applied = await apply_event(
            session, payload, channel="webhook", calendar=request.app.state.calendar, settings=settings, now=now
        )
    except EventInvalidError as exc:
        # The sender dead-letters the event on this answer (a 4xx it will not retry): say why here too.
        logger.error("event %s refused: %s", received.msg_id, exc.detail)
        raise

    return InboxResult(id=received.msg_id, status="applied" if applied else "duplicate")


# --- report-api's events out -------------------------------------------------------------------


@router.get("/events", tags=["events"], response_model=EventPage, responses=problem_responses(ForbiddenError))
async def list_events(
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="The last `sequence` you read (0 to start).")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventPage:
    """report-api's events (`obligation.*`) in order, for e-office systems and directive-api."""
    if not (actor.has_any(Role.integration.value) or service.is_office(actor, request.app.state.settings)):
        raise ForbiddenError("needs the role integration, or monitor/admin of the Office")
    items, cursor = await feed(session, OutboxEvent, after=after, limit=limit)
    return EventPage(items=[EventEnvelope.model_validate(e) for e in items], next_cursor=cursor if items else None)


# --- units ------------------------------------------------------------------------------------


@router.get(
    "/me/obligations", tags=["units"], response_model=ObligationPage, responses=problem_responses(ForbiddenError)
)
async def my_obligations(
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    status: Annotated[ObligationStatus | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="Only overdue (true) or not overdue (false).")] = None,
    due_before: Annotated[date | None, Query(description="Deadline strictly before this date.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ObligationPage:
    """The caller's unit's obligations, earliest deadline first."""
    ctx = context(request)
    rows, next_cursor = await service.my_obligations(
        session,
        actor,
        ctx,
        status=status.value if status else None,
        overdue=overdue,
        due_before=due_before,
        limit=limit,
        cursor=cursor,
    )
    return ObligationPage(items=[to_read(o, d, actor, ctx) for o, d in rows], next_cursor=next_cursor)


@router.get(
    "/obligations/{obligation_id}",
    tags=["units"],
    response_model=ObligationDetail,
    responses=problem_responses(ObligationNotFoundError, ForbiddenError),
)
async def get_obligation(
    obligation_id: uuid.UUID, request: Request, response: Response, session: SessionDep, actor: CurrentPrincipal
) -> ObligationDetail:
    """One obligation with its history, report versions, evidence, extension requests and reminders."""
    return await _detail(session, obligation_id, actor, context(request), response)


_TRANSITION_ERRORS = problem_responses(
    BadRequestError,
    ObligationNotFoundError,
    ForbiddenError,
    TransitionNotAllowedError,
    CommentRequiredError,
    PreconditionFailedError,
)


@router.post(
    "/obligations/{obligation_id}/acknowledge",
    tags=["units"],
    response_model=ObligationDetail,
    responses=_TRANSITION_ERRORS,
)
async def acknowledge(
    obligation_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CurrentPrincipal,
    if_match: IfMatch = None,
) -> ObligationDetail:
    """The unit confirms it received the document (unit_officer of the addressee unit)."""
    ctx = context(request)
    await service.acknowledge(session, obligation_id, actor, ctx, if_match)
    return await _detail(session, obligation_id, actor, ctx, response)


@router.post(
    "/obligations/{obligation_id}/submissions",
    tags=["units"],
    status_code=201,
    response_model=SubmissionRead,
    responses=problem_responses(
        BadRequestError,
        ObligationNotFoundError,
        ForbiddenError,
        TransitionNotAllowedError,
        ReportInvalidError,
        PreconditionFailedError,
    ),
)
async def submit(
    obligation_id: uuid.UUID,
    body: SubmissionCreate,
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    if_match: IfMatch = None,
) -> SubmissionRead:
    """Submit (or, after a return, resubmit) the report; validated against the document's template."""
    submission = await service.submit(session, obligation_id, body.data, actor, context(request), if_match)
    return SubmissionRead.model_validate(submission, from_attributes=True)


@router.post(
    "/obligations/{obligation_id}/evidence",
    tags=["units"],
    status_code=201,
    response_model=EvidenceRead,
    responses=problem_responses(
        BadRequestError,
        ObligationNotFoundError,
        ForbiddenError,
        EvidenceTooLargeError,
        EvidenceTypeError,
        ConflictError,
    ),
)
async def upload_evidence(
    obligation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="PDF, PNG or JPEG (checked from the content).")],
) -> EvidenceRead:
    """Upload an evidence file; cite its id in an `evidence` field of the report."""
    ctx = context(request)
    obligation = await service.load(session, obligation_id, actor, ctx.settings)
    service.require_unit_officer(actor)
    if service.is_closed(obligation):
        raise ConflictError(f"no uploads while the status is '{obligation.status}'")
    media_type, sha, size, key = await evidence.store(file, ctx.settings.evidence_dir, ctx.settings.evidence_max_bytes)
    item = Evidence(
        obligation_id=obligation.id,
        filename=evidence.safe_filename(file.filename, media_type),
        media_type=media_type,
        size_bytes=size,
        sha256=sha,
        storage_key=key,
        uploaded_by=actor.id,
        uploaded_at=ctx.now(),
    )
    session.add(item)
    await session.flush()
    return EvidenceRead.model_validate(item, from_attributes=True)


@router.get(
    "/obligations/{obligation_id}/evidence/{evidence_id}",
    tags=["units"],
    response_class=FileResponse,
    responses=problem_responses(ObligationNotFoundError, EvidenceNotFoundError, ForbiddenError, validation=True),
)
async def download_evidence(
    obligation_id: uuid.UUID, evidence_id: uuid.UUID, request: Request, session: SessionDep, actor: CurrentPrincipal
) -> FileResponse:
    """Download an evidence file (as an attachment, with its SHA-256 in `Digest`-like header)."""
    ctx = context(request)
    obligation = await service.load(session, obligation_id, actor, ctx.settings)
    item = await session.scalar(
        select(Evidence).where(Evidence.id == evidence_id, Evidence.obligation_id == obligation.id)
    )
    if item is None:
        raise EvidenceNotFoundError(f"no evidence {evidence_id} on this obligation")
    return FileResponse(
        evidence.path_of(ctx.settings.evidence_dir, item.storage_key),
        media_type=item.media_type,
        headers={
            "Content-Disposition": evidence.content_disposition(item.filename),
            "X-Content-Type-Options": "nosniff",
            "X-Evidence-SHA256": item.sha256,
            "Cache-Control": "private, no-store",
        },
    )


@router.post(
    "/obligations/{obligation_id}/extension-requests",
    tags=["units"],
    status_code=201,
    response_model=ExtensionRead,
    responses=problem_responses(BadRequestError, ObligationNotFoundError, ForbiddenError, ConflictError),
)
async def request_extension(
    obligation_id: uuid.UUID, body: ExtensionCreate, request: Request, session: SessionDep, actor: CurrentPrincipal
) -> ExtensionRead:
    """The unit asks for a later deadline."""
    item = await service.request_extension(
        session, obligation_id, body.requested_due_on, body.reason, actor, context(request)
    )
    return ExtensionRead.model_validate(item, from_attributes=True)


# --- the Office -------------------------------------------------------------------------------


@router.post(
    "/obligations/{obligation_id}/review",
    tags=["office"],
    response_model=ObligationDetail,
    responses=_TRANSITION_ERRORS | problem_responses(OfficeOnlyError),
)
async def review(
    obligation_id: uuid.UUID,
    body: ReviewRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CurrentPrincipal,
    if_match: IfMatch = None,
) -> ObligationDetail:
    """Accept the latest report, or return it with a comment (monitor/admin of the Office)."""
    ctx = context(request)
    await service.review(session, obligation_id, body.decision, body.comment, actor, ctx, if_match)
    return await _detail(session, obligation_id, actor, ctx, response)


@router.post(
    "/obligations/{obligation_id}/extension-requests/{request_id}/decision",
    tags=["office"],
    response_model=ExtensionRead,
    responses=problem_responses(
        BadRequestError, OfficeOnlyError, ObligationNotFoundError, ExtensionRequestNotFoundError, ConflictError
    ),
)
async def decide_extension(
    obligation_id: uuid.UUID,
    request_id: uuid.UUID,
    body: ExtensionDecision,
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
) -> ExtensionRead:
    """Approve (with a new deadline, moved to a working day) or deny an extension request."""
    item = await service.decide_extension(
        session, obligation_id, request_id, body.decision, body.new_due_on, body.comment, actor, context(request)
    )
    return ExtensionRead.model_validate(item, from_attributes=True)


@router.post(
    "/obligations/{obligation_id}/reminders",
    tags=["office"],
    status_code=201,
    response_model=ReminderRead,
    responses=problem_responses(BadRequestError, OfficeOnlyError, ObligationNotFoundError, ConflictError),
)
async def send_reminder(
    obligation_id: uuid.UUID, body: ReminderCreate, request: Request, session: SessionDep, actor: CurrentPrincipal
) -> ReminderRead:
    """Send a Nhắc nhở / Phê bình / Kiểm điểm; its number per kind is counted on the obligation."""
    r = await service.remind(session, obligation_id, body.kind.value, body.content, actor, context(request))
    return ReminderRead(
        id=r.id,
        kind=r.kind,
        kind_label=REMINDER_LABELS[r.kind],
        sequence=r.sequence,
        content=r.content,
        source=r.source,
        escalated_to=r.escalated_to,
        sent_by=r.sent_by,
        sent_at=r.sent_at,
    )


@router.get(
    "/directives/{directive_id}/compliance",
    tags=["office"],
    response_model=ComplianceSummary,
    responses=problem_responses(OfficeOnlyError, DirectiveNotFoundError, NotAcceptableError)
    | {200: {"content": {"application/json": {}, XLSX: {}, PDF: {}}}},
)
async def directive_compliance(
    directive_id: Annotated[str, Path(max_length=64)],
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    format: Annotated[Literal["json", "xlsx", "pdf"] | None, Query(description="Or send `Accept`.")] = None,  # noqa: A002
    units: Annotated[
        compliance.UnitsMode,
        Query(description="Per-unit rows in `units` (JSON): none (default), the overdue ones, or all (paged)."),
    ] = "none",
    limit: Annotated[int, Query(ge=1, le=MAX_UNIT_ROWS, description="Page size of `units`.")] = DEFAULT_UNIT_ROWS,
    offset: Annotated[
        int, Query(ge=0, le=10_000_000, description="Rows of `units` to skip (`units_page.next_offset`).")
    ] = 0,
) -> Response:
    """Counts per status, on-time rate, groups, totals of the accepted figures, overdue units.

    JSON (per-unit rows only when asked with `units=overdue|all`, paged with `limit`/`offset`),
    XLSX (every unit) or PDF (a Decree 30 BÁO CÁO of the Office, `format=pdf` or `Accept: application/pdf`).
    """
    ctx = context(request)
    service.require_office(actor, ctx.settings)
    accept = request.headers.get("accept", "")
    wanted = format or ("xlsx" if XLSX in accept else "pdf" if PDF in accept else "json")
    today = ctx.today()
    headers = {"Cache-Control": "private, no-store"}
    if wanted == "xlsx":
        name, content = await exports.compliance_workbook(
            session, directive_id, today=today, calendar=ctx.calendar, timezone=ctx.settings.timezone
        )
        headers["Content-Disposition"] = evidence.content_disposition(name)
        return Response(content, media_type=XLSX, headers=headers)
    if wanted == "pdf":
        name, pdf = await exports.compliance_pdf(
            session,
            directive_id,
            today=today,
            calendar=ctx.calendar,
            signer_lines=ctx.settings.report_signer_lines,
            signer_name=ctx.settings.report_signer_name,
        )
        headers["Content-Disposition"] = content_disposition(name)
        headers["X-Content-Type-Options"] = "nosniff"
        return Response(pdf, media_type=PDF, headers=headers)
    data = await compliance.summary_data(
        session,
        directive_id,
        today=today,
        calendar=ctx.calendar,
        units=units,
        limit=limit if units == "all" else None,
        offset=offset if units == "all" else 0,
    )
    return JSONResponse(data)
