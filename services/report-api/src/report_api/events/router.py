"""HTTP routes of the events: directive-api's webhooks in, report-api's event feed out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.problems import ForbiddenError, problem_responses
from report_api.context import Context
from report_api.events import service
from report_api.events.errors import EventInvalidError, WebhookNotConfiguredError, WebhookRejectedError
from report_api.events.schemas import EventPage, InboxResult

router = APIRouter(prefix="/v1", tags=["events"])


@router.post(
    "/inbox/events",
    response_model=InboxResult,
    responses=problem_responses(WebhookRejectedError, EventInvalidError, WebhookNotConfiguredError),
)
async def receive_event(request: Request, session: SessionDep) -> InboxResult:
    """Webhook receiver for directive-api's events, authenticated by a Standard Webhooks signature.

    Deliveries are de-duplicated on `webhook-id` (= the event id): a retry answers `duplicate`.
    """
    body = await request.body()
    return await service.receive_webhook(session, request.headers, body, Context.of(request.app.state))


@router.get("/events", response_model=EventPage, responses=problem_responses(ForbiddenError))
async def list_events(
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="The last `sequence` you read (0 to start).")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventPage:
    """report-api's events (`obligation.*`) in order, for e-office systems and directive-api."""
    return await service.events_page(session, actor, Context.of(request.app.state), after=after, limit=limit)
