"""HTTP routes of webhook subscriptions to report-api's events (the shape of directive-api's)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.problems import BadRequestError, problem_responses
from report_api.access import OfficeOnlyError
from report_api.webhooks import service
from report_api.webhooks.errors import DeliveryNotFoundError, SubscriptionNotFoundError, UnsafeWebhookUrlError
from report_api.webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    DeliveryStatus,
    ReplayResult,
    SubscriptionCreate,
    SubscriptionCreated,
)

router = APIRouter(prefix="/v1", tags=["events"])

SubscriptionId = Annotated[str, Path(max_length=40)]


@router.post(
    "/webhook-subscriptions",
    status_code=201,
    response_model=SubscriptionCreated,
    responses=problem_responses(BadRequestError, OfficeOnlyError, UnsafeWebhookUrlError),
)
async def create_webhook_subscription(
    body: SubscriptionCreate, request: Request, session: SessionDep, actor: CurrentPrincipal
) -> SubscriptionCreated:
    """Subscribe a URL to `obligation.*` events (Standard Webhooks signatures, retries, dead letters).

    URLs on loopback, private or metadata addresses are refused unless allow-listed
    (`REPORT_API_WEBHOOKS__ALLOW_HOSTS`); redirects are never followed."""
    subscription, secret = await service.create(session, body, actor, request.app.state.settings)
    return SubscriptionCreated(subscription=service.view(subscription, actor), secret=secret)


@router.get("/webhook-subscriptions", response_model=list[dict[str, Any]], responses=problem_responses(OfficeOnlyError))
async def list_webhook_subscriptions(
    request: Request, session: SessionDep, actor: CurrentPrincipal
) -> list[dict[str, Any]]:
    """The caller's subscriptions (secrets masked; the Office's admin sees all)."""
    return [service.view(s, actor) for s in await service.listing(session, actor, request.app.state.settings)]


@router.post(
    "/webhook-subscriptions/{subscription_id}/rotate-secret",
    response_model=SubscriptionCreated,
    responses=problem_responses(OfficeOnlyError, SubscriptionNotFoundError),
)
async def rotate_webhook_secret(
    subscription_id: SubscriptionId, request: Request, session: SessionDep, actor: CurrentPrincipal
) -> SubscriptionCreated:
    """A new secret; the previous one keeps signing too until the next rotation."""
    subscription, secret = await service.rotate(session, subscription_id, actor, request.app.state.settings)
    return SubscriptionCreated(subscription=service.view(subscription, actor), secret=secret)


@router.delete(
    "/webhook-subscriptions/{subscription_id}",
    status_code=204,
    responses=problem_responses(OfficeOnlyError, SubscriptionNotFoundError),
)
async def delete_webhook_subscription(
    subscription_id: SubscriptionId, request: Request, session: SessionDep, actor: CurrentPrincipal
) -> None:
    """Stop deliveries to this subscription (it is deactivated, its log kept)."""
    await service.deactivate(session, subscription_id, actor, request.app.state.settings)


@router.get(
    "/webhook-subscriptions/{subscription_id}/deliveries",
    response_model=DeliveryPage,
    responses=problem_responses(OfficeOnlyError, SubscriptionNotFoundError),
)
async def list_deliveries(
    subscription_id: SubscriptionId,
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    status: Annotated[DeliveryStatus | None, Query(description="`dead`: the dead letters.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryPage:
    """The subscription's deliveries, newest first, with their last error."""
    rows = await service.deliveries(
        session, subscription_id, actor, request.app.state.settings, status=status, limit=limit
    )
    return DeliveryPage(items=[DeliveryRead.model_validate(d) for d in rows])


@router.post(
    "/webhook-subscriptions/{subscription_id}/deliveries/{delivery_id}/replay",
    response_model=ReplayResult,
    responses=problem_responses(OfficeOnlyError, SubscriptionNotFoundError, DeliveryNotFoundError),
)
async def replay_delivery(
    subscription_id: SubscriptionId,
    delivery_id: Annotated[str, Path(max_length=40)],
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
) -> ReplayResult:
    """Send a dead (or delivered) delivery again with a fresh attempt count (`requeued`: 0 if it is pending)."""
    requeued = await service.replay(
        session, subscription_id, delivery_id, actor, request.app.state.settings, request.app.state.clock()
    )
    return ReplayResult(requeued=requeued)
