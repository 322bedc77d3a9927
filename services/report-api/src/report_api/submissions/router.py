"""HTTP routes of the submissions: the unit's report and evidence files, the Office's review."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Request, Response, UploadFile
from fastapi.responses import FileResponse

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.problems import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    PreconditionFailedError,
    problem_responses,
)
from common.workflow import TransitionNotAllowedError
from report_api.access import OfficeOnlyError
from report_api.context import Context
from report_api.obligations.errors import ObligationNotFoundError
from report_api.obligations.router import TRANSITION_ERRORS, IfMatch, with_etag
from report_api.obligations.schemas import EvidenceRead, ObligationDetail, SubmissionRead
from report_api.submissions import evidence, service
from report_api.submissions.errors import (
    EvidenceNotFoundError,
    EvidenceTooLargeError,
    EvidenceTypeError,
    ReportInvalidError,
)
from report_api.submissions.schemas import ReviewRequest, SubmissionCreate

router = APIRouter(prefix="/v1")


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
    return await service.submit_view(session, obligation_id, body.data, actor, Context.of(request.app.state), if_match)


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
    return await service.upload_evidence(session, obligation_id, file, actor, Context.of(request.app.state))


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
    path, item = await service.evidence_file(session, obligation_id, evidence_id, actor, Context.of(request.app.state))
    return FileResponse(
        path,
        media_type=item.media_type,
        headers={
            "Content-Disposition": evidence.content_disposition(item.filename),
            "X-Content-Type-Options": "nosniff",
            "X-Evidence-SHA256": item.sha256,
            "Cache-Control": "private, no-store",
        },
    )


@router.post(
    "/obligations/{obligation_id}/review",
    tags=["office"],
    response_model=ObligationDetail,
    responses=TRANSITION_ERRORS | problem_responses(OfficeOnlyError),
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
    detail = await service.review_view(
        session, obligation_id, body.decision, body.comment, actor, Context.of(request.app.state), if_match
    )
    return with_etag(detail, response)
