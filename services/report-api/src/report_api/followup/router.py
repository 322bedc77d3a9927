"""HTTP routes of the Office's bulk follow-up on one document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from common.app import SessionDep
from common.auth import CurrentPrincipal, Principal
from common.http import IdempotencyKeyInUseError, IdempotencyKeyMismatchError, idempotent
from common.problems import BadRequestError, problem_responses
from common.workflow import CommentRequiredError
from report_api.followup import service
from report_api.followup.errors import BulkTargetsError
from report_api.followup.models import IdempotencyRecord
from report_api.followup.schemas import (
    BulkReminderCreate,
    BulkReminderResult,
    BulkReviewCreate,
    BulkReviewResult,
    OfficeObligationPage,
    OfficeObligationRow,
    ReminderFilter,
)
from report_api.obligations import compliance
from report_api.obligations.errors import DirectiveNotFoundError, OfficeOnlyError
from report_api.obligations.lifecycle import STATUS_LABELS, ObligationStatus
from report_api.obligations.router import context
from report_api.obligations.service import overdue_days

router = APIRouter(prefix="/v1", tags=["office"])

DirectiveId = Annotated[str, Path(max_length=64)]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Retry-safe: the same key and body answer the first result again."),
]
_IDEMPOTENCY = problem_responses(IdempotencyKeyMismatchError, IdempotencyKeyInUseError)


async def _once(
    session: AsyncSession,
    actor: Principal,
    key: str | None,
    endpoint: str,
    body: BaseModel,
    run: Callable[[], Awaitable[Any]],
    result: type[BaseModel],
) -> JSONResponse:
    """Run a bulk action once per ``Idempotency-Key``: a repeat answers what the first call did."""

    async def create() -> tuple[int, Any, str | None]:
        return 200, result.model_validate(await run()).model_dump(mode="json"), None

    status, payload, replayed = await idempotent(
        session,
        IdempotencyRecord,
        key=key,
        principal=actor.id,
        endpoint=endpoint,
        body=body.model_dump(mode="json"),
        create=create,
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(payload, status_code=status, headers=headers)


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
    ctx = context(request)
    return await _once(
        session,
        actor,
        idempotency_key,
        f"POST /v1/directives/{directive_id}/reminders",
        body,
        lambda: service.remind_many(session, directive_id, body, actor, ctx),
        BulkReminderResult,
    )


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
    ctx = context(request)
    return await _once(
        session,
        actor,
        idempotency_key,
        f"POST /v1/directives/{directive_id}/reviews",
        body,
        lambda: service.review_many(session, directive_id, body, actor, ctx),
        BulkReviewResult,
    )


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
    ctx = context(request)
    _, rows, next_cursor = await service.list_for_office(
        session,
        directive_id,
        actor,
        ctx,
        statuses=[s.value for s in status] if status else None,
        filter_name=filter,
        overdue=overdue,
        group=group,
        units=unit,
        limit=limit,
        cursor=cursor,
    )
    today = ctx.today()
    items = []
    for o in rows:
        days = overdue_days(o, today, ctx.calendar)
        items.append(
            OfficeObligationRow(
                id=o.id,
                unit_code=o.unit_code,
                unit_name=o.unit_name,
                group_code=o.group_code,
                status=o.status,
                status_label=STATUS_LABELS[o.status],
                version=o.version,
                due_on=o.due_on,
                original_due_on=o.original_due_on,
                overdue=days > 0,
                working_days_overdue=days,
                acknowledged_at=o.acknowledged_at,
                first_submitted_at=o.first_submitted_at,
                first_submission_late=o.first_submission_late,
                accepted_at=o.accepted_at,
                submission_count=o.submission_count,
                reminder_counts=compliance.counts(o),
                carried_from_id=o.carried_from_id,
            )
        )
    return OfficeObligationPage(items=items, next_cursor=next_cursor)
