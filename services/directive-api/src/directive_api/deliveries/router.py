"""HTTP routes of deliveries: a document's recipients, and the inbox of report-api's events."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.problems import BadRequestError, ForbiddenError, problem_responses
from directive_api.deliveries import service
from directive_api.deliveries.schemas import DeliveryPage, InboxResult
from directive_api.events.errors import DirectiveNotFoundError

router = APIRouter(prefix="/v1", tags=["dispatch"])


@router.get(
    "/directives/{directive_id}/recipients",
    response_model=DeliveryPage,
    responses=problem_responses(DirectiveNotFoundError, ForbiddenError),
)
async def list_recipients(directive_id: uuid.UUID, session: SessionDep, actor: CurrentPrincipal) -> DeliveryPage:
    """Every recipient of a dispatched document with its delivery status and compliance status.

    A unit officer sees only its own unit's delivery."""
    return await service.list_recipients(session, directive_id, actor=actor)


@router.post(
    "/inbox/events",
    response_model=InboxResult,
    tags=["events"],
    responses=problem_responses(BadRequestError, ForbiddenError),
)
async def receive_event(request: Request, session: SessionDep) -> InboxResult:
    """Events from report-api (Standard Webhooks signature; de-duplicated on `webhook-id`): a unit's
    acknowledgement and progress move its delivery status, so delivery and compliance meet here.

    Authenticated by the webhook signature instead of a bearer token."""
    settings = request.app.state.settings
    return await service.receive_compliance_event(
        session,
        request.headers,
        await request.body(),
        secrets=[s.get_secret_value() for s in settings.inbox_secrets],
        now=request.app.state.clock(),
        unmatched=request.app.state.unmatched_compliance,
        matched=request.app.state.matched_compliance,
    )
