"""HTTP routes of the Office's bulk follow-up on one document."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.http import IdempotencyKeyInUseError, IdempotencyKeyMismatchError
from common.problems import BadRequestError, problem_responses
from common.workflow import CommentRequiredError
from report_api.access import OfficeOnlyError
from report_api.context import Context
from report_api.followup import service
from report_api.followup.errors import BulkTargetsError
from report_api.followup.repository import ListFilters
from report_api.followup.schemas import (
    BulkReminderCreate,
    BulkReminderResult,
    BulkReviewCreate,
    BulkReviewResult,
    OfficeObligationPage,
    ReminderFilter,
)
from report_api.obligations.errors import DirectiveNotFoundError
from report_api.obligations.states import ObligationStatus

router = APIRouter(prefix="/v1", tags=["office"])

DirectiveId = Annotated[str, Path(max_length=64)]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Retry-safe: the same key and body answer the first result again."),
]
_IDEMPOTENCY = problem_responses(IdempotencyKeyMismatchError, IdempotencyKeyInUseError)


def _answer(answer: service.Answer) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


@router.post(
    "/directives/{directive_id}/reminders",
    response_model=BulkReminderResult,
    responses=problem_responses(BadRequestError, OfficeOnlyError, DirectiveNotFoundError) | _IDEMPOTENCY,
)
async def remind_many(
    directive_id: DirectiveId,
    body: BulkReminderCreate,
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Send one Nhắc nhở / Phê bình / Kiểm điểm to every unit the filter selects (optionally among `units`)."""
    ctx = Context.of(request.app.state)
    return _answer(await service.remind_many_once(session, directive_id, body, actor, ctx, idempotency_key))


@router.post(
    "/directives/{directive_id}/reviews",
    response_model=BulkReviewResult,
    responses=problem_responses(
        BadRequestError, OfficeOnlyError, DirectiveNotFoundError, BulkTargetsError, CommentRequiredError
    )
    | _IDEMPOTENCY,
)
async def review_many(
    directive_id: DirectiveId,
    body: BulkReviewCreate,
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Accept, or return with a comment, the latest report of each named obligation — all of them or none."""
    ctx = Context.of(request.app.state)
    return _answer(await service.review_many_once(session, directive_id, body, actor, ctx, idempotency_key))


@router.get(
    "/directives/{directive_id}/obligations",
    response_model=OfficeObligationPage,
    responses=problem_responses(OfficeOnlyError, DirectiveNotFoundError, validation=True),
)
async def list_obligations(
    directive_id: DirectiveId,
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    status: Annotated[list[ObligationStatus] | None, Query(description="Any of these states (repeatable).")] = None,
    filter: Annotated[ReminderFilter | None, Query(description="As the bulk reminders' filter.")] = None,  # noqa: A002
    overdue: Annotated[bool | None, Query()] = None,
    group: Annotated[str | None, Query(max_length=40, description="`group_code` of the units.")] = None,
    unit: Annotated[list[str] | None, Query(max_length=500, description="Only these unit codes (repeatable).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> OfficeObligationPage:
    """The document's obligations for the Office, in unit-code order, with keyset pages (`next_cursor`)."""
    filters = ListFilters(statuses=status, filter_name=filter, overdue=overdue, group=group, units=unit)
    return await service.list_for_office(
        session, directive_id, actor, Context.of(request.app.state), filters, limit=limit, cursor=cursor
    )
