"""HTTP routes of obligations: the unit's list, one obligation, acknowledgement and extension requests."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.problems import BadRequestError, ConflictError, ForbiddenError, PreconditionFailedError, problem_responses
from common.workflow import CommentRequiredError, TransitionNotAllowedError
from report_api.access import OfficeOnlyError
from report_api.context import Context
from report_api.obligations import service
from report_api.obligations.errors import ExtensionRequestNotFoundError, ObligationNotFoundError
from report_api.obligations.schemas import (
    ExtensionCreate,
    ExtensionDecision,
    ExtensionRead,
    ObligationDetail,
    ObligationPage,
)
from report_api.obligations.states import ObligationStatus

router = APIRouter(prefix="/v1")

IfMatch = Annotated[
    str | None, Header(alias="If-Match", description='Optional: the ETag you read (`"3"`); 412 if it is stale.')
]
TRANSITION_ERRORS = problem_responses(
    BadRequestError,
    ObligationNotFoundError,
    ForbiddenError,
    TransitionNotAllowedError,
    CommentRequiredError,
    PreconditionFailedError,
)


def with_etag(detail: ObligationDetail, response: Response) -> ObligationDetail:
    response.headers["ETag"] = detail.etag
    return detail


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
    return await service.my_obligations_page(
        session,
        actor,
        Context.of(request.app.state),
        status=status,
        overdue=overdue,
        due_before=due_before,
        limit=limit,
        cursor=cursor,
    )


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
    detail = await service.detail_view(session, obligation_id, actor, Context.of(request.app.state))
    return with_etag(detail, response)


@router.post(
    "/obligations/{obligation_id}/acknowledge",
    tags=["units"],
    response_model=ObligationDetail,
    responses=TRANSITION_ERRORS,
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
    detail = await service.acknowledge(session, obligation_id, actor, Context.of(request.app.state), if_match)
    return with_etag(detail, response)


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
        session, obligation_id, body.requested_due_on, body.reason, actor, Context.of(request.app.state)
    )
    return ExtensionRead.model_validate(item, from_attributes=True)


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
        session,
        obligation_id,
        request_id,
        body.decision,
        body.new_due_on,
        body.comment,
        actor,
        Context.of(request.app.state),
    )
    return ExtensionRead.model_validate(item, from_attributes=True)
