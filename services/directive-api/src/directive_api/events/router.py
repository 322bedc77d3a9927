"""HTTP routes of the event feed and of webhook subscriptions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from common.app import SessionDep
from common.auth import CurrentPrincipal, require_roles
from common.problems import BadRequestError, ForbiddenError, problem_responses
from directive_api.events import service
from directive_api.events.errors import SubscriptionNotFoundError, UnsafeWebhookUrlError
from directive_api.events.schemas import EventPage, SubscriptionCreate, SubscriptionCreated

# Tagged "dispatch" as well, as these routes were before the dispatch slice was split.
router = APIRouter(prefix="/v1", tags=["dispatch"])


def _office_unit(request: Request) -> str:
    unit: str = request.app.state.settings.office_unit_code
    return unit


@router.get("/events", response_model=EventPage, tags=["events"], responses=problem_responses(ForbiddenError))
async def list_events(
    session: SessionDep,
    actor: CurrentPrincipal,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventPage:
    """The pull feed of events for systems that cannot receive webhooks (see docs/events.md)."""
    require_roles(actor, *service.FEED_ROLES)
    # The same rule as reads and webhooks (events.visibility): a document's events for its readers,
    # one recipient unit's delivery events for the issuing office and that unit only.
    return await service.list_events(session, actor, after=after, limit=limit)


@router.post(
    "/webhook-subscriptions",
    status_code=201,
    response_model=SubscriptionCreated,
    tags=["events"],
    responses=problem_responses(BadRequestError, ForbiddenError, UnsafeWebhookUrlError),
)
async def create_webhook_subscription(
    body: SubscriptionCreate, session: SessionDep, actor: CurrentPrincipal, request: Request
) -> SubscriptionCreated:
    """Subscribe a URL to events. The subscription belongs to the caller (its unit and client id)
    and receives the events of documents the caller could read. URLs on loopback, private or
    metadata addresses are refused unless allow-listed; redirects are never followed."""
    require_roles(actor, *service.SUBSCRIPTION_ROLES)
    return await service.subscribe(
        session, body, actor, settings=request.app.state.settings.webhooks, office_unit=_office_unit(request)
    )


@router.get(
    "/webhook-subscriptions",
    response_model=list[dict[str, Any]],
    tags=["events"],
    responses=problem_responses(ForbiddenError),
)
async def list_webhook_subscriptions(
    session: SessionDep, actor: CurrentPrincipal, request: Request
) -> list[dict[str, Any]]:
    """The caller's own subscriptions (secrets masked); the Office's admin sees every one."""
    require_roles(actor, *service.SUBSCRIPTION_ROLES)
    return await service.list_subscriptions(session, actor, office_unit=_office_unit(request))


@router.post(
    "/webhook-subscriptions/{subscription_id}/rotate-secret",
    response_model=SubscriptionCreated,
    tags=["events"],
    responses=problem_responses(ForbiddenError, SubscriptionNotFoundError),
)
async def rotate_webhook_secret(
    subscription_id: Annotated[str, Path(max_length=40)], session: SessionDep, actor: CurrentPrincipal, request: Request
) -> SubscriptionCreated:
    """A new secret, shown to the owner only; the previous one keeps signing until the next rotation."""
    require_roles(actor, *service.SUBSCRIPTION_ROLES)
    return await service.rotate_subscription_secret(session, subscription_id, actor, office_unit=_office_unit(request))


@router.delete(
    "/webhook-subscriptions/{subscription_id}",
    status_code=204,
    tags=["events"],
    responses=problem_responses(ForbiddenError, SubscriptionNotFoundError),
)
async def delete_webhook_subscription(
    subscription_id: Annotated[str, Path(max_length=40)], session: SessionDep, actor: CurrentPrincipal, request: Request
) -> None:
    """Stop deliveries to this subscription (it is deactivated, its log kept): its owner or the Office's admin."""
    require_roles(actor, *service.SUBSCRIPTION_ROLES)
    await service.unsubscribe(session, subscription_id, actor, office_unit=_office_unit(request))
