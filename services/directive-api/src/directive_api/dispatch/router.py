"""Deliveries, the event feed, webhook subscriptions, the event inbox, and edXML exchange."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from common.app import SessionDep
from common.auth import CurrentPrincipal, Principal, require_roles
from common.outbox import claim_received, create_subscription, feed, receive, rotate_secret, subscription_view
from common.problems import (
    BadRequestError,
    ForbiddenError,
    NotAuthenticatedError,
    NotFoundError,
    UnprocessableError,
    problem_responses,
)
from common.webhooks import UnsafeUrlError, WebhookVerificationError
from directive_api.directives import service as directives
from directive_api.directives.errors import DirectiveNotFoundError
from directive_api.directives.lifecycle import OFFICE_ROLES
from directive_api.directives.models import Directive
from directive_api.dispatch import service, visibility
from directive_api.dispatch.models import Delivery, DeliveryStatusLog, OutboxEvent, ReceivedEvent, WebhookSubscription
from directive_api.dispatch.status_order import is_further_along
from directive_api.exchange import received

router = APIRouter(prefix="/v1", tags=["dispatch"])

FEED_ROLES = ("integration", "monitor", "admin", "auditor", "clerk")
SUBSCRIPTION_ROLES = ("integration", "admin")


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    unit_code: str
    role: str
    channel: str
    status: str
    """``sent``, then the edXML codes: 01 arrived, 02 refused, 03 accepted, 04 assigned, 05 processing, 06 done."""
    status_reason: str | None
    status_at: Any
    compliance_status: str | None


class DeliveryPage(BaseModel):
    directive_id: uuid.UUID
    counts: dict[str, int]
    items: list[DeliveryRead]


@router.get(
    "/directives/{directive_id}/recipients",
    response_model=DeliveryPage,
    responses=problem_responses(DirectiveNotFoundError, ForbiddenError),
)
async def list_recipients(directive_id: uuid.UUID, session: SessionDep, actor: CurrentPrincipal) -> DeliveryPage:
    """Every recipient of a dispatched document with its delivery status and compliance status.

    A unit officer sees only its own unit's delivery."""
    directive = await directives.get_directive(session, directive_id, actor=actor)
    rows = await service.list_deliveries(session, directive.id)
    if not (actor.has_any(*OFFICE_ROLES) and actor.unit == directive.issuer_code):
        rows = [r for r in rows if r.unit_code == actor.unit]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return DeliveryPage(directive_id=directive.id, counts=counts, items=[DeliveryRead.model_validate(r) for r in rows])


class EventPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: int
    """Pass it as `after` to get the next page; equal to `after` when nothing new has arrived."""


@router.get("/events", response_model=EventPage, tags=["events"], responses=problem_responses(ForbiddenError))
async def list_events(
    session: SessionDep,
    actor: CurrentPrincipal,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventPage:
    """The pull feed of events for systems that cannot receive webhooks (see docs/events.md)."""
    require_roles(actor, *FEED_ROLES)
    items, cursor = await feed(session, OutboxEvent, after=after, limit=limit)
    # The same rule as reads and webhooks: an event shows only if the caller could read its document.
    # The cursor still moves past the events left out, so a page may hold fewer than `limit`.
    items = await visibility.visible_items(session, items, actor)
    return EventPage(items=items, next_cursor=cursor)


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(max_length=2000)]
    event_types: Annotated[
        list[Annotated[str, Field(pattern=r"^(\*|[a-z_]+(\.[a-z_*]+)*)$")]], Field(min_length=1, max_length=50)
    ] = ["*"]


class SubscriptionCreated(BaseModel):
    subscription: dict[str, Any]
    secret: str
    """Shown once: verify each delivery's `webhook-signature` with it (Standard Webhooks)."""


class SubscriptionNotFoundError(NotFoundError):
    title = "Subscription not found"


class UnsafeWebhookUrlError(UnprocessableError):
    title = "The webhook URL is not allowed"


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
    require_roles(actor, *SUBSCRIPTION_ROLES)
    if not actor.unit:
        raise ForbiddenError("a subscription belongs to a unit: the token names none")
    try:
        subscription, secret = await create_subscription(
            session,
            WebhookSubscription,
            owner=actor.id,
            url=body.url,
            event_types=body.event_types,
            settings=request.app.state.settings.webhooks,
        )
    except (UnsafeUrlError, ValueError) as exc:
        raise UnsafeWebhookUrlError(str(exc)) from None
    subscription.owner_unit = actor.unit
    subscription.owner_roles = sorted(actor.roles)
    return SubscriptionCreated(subscription=_view(subscription, actor), secret=secret)


def _is_owner(subscription: WebhookSubscription, actor: Principal) -> bool:
    # Rows made before owners had a unit (owner_unit NULL) belong to no one but the Office's admin.
    return (
        not subscription.system
        and subscription.owner_unit is not None
        and subscription.owner == actor.id
        and subscription.owner_unit == actor.unit
    )


def _is_office_admin(actor: Principal, request: Request) -> bool:
    return actor.has_any("admin") and actor.unit == request.app.state.settings.office_unit_code


def _view(subscription: WebhookSubscription, actor: Principal) -> dict[str, Any]:
    # Secret prefixes only to the owner; the Office's admin sees who owns what, not their keys.
    view = subscription_view(subscription, secret_prefixes=_is_owner(subscription, actor))
    return {**view, "owner_unit": subscription.owner_unit, "system": subscription.system}


async def _subscription(
    session: SessionDep, subscription_id: str, actor: Principal, request: Request
) -> WebhookSubscription:
    """The subscription if the caller owns it or is the Office's admin; 404 for anyone else."""
    subscription = await session.get(WebhookSubscription, subscription_id)
    if subscription is None or not (_is_owner(subscription, actor) or _is_office_admin(actor, request)):
        raise SubscriptionNotFoundError(f"no subscription {subscription_id}")
    return subscription


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
    require_roles(actor, *SUBSCRIPTION_ROLES)
    statement = select(WebhookSubscription).order_by(WebhookSubscription.created_at, WebhookSubscription.id)
    if not _is_office_admin(actor, request):
        statement = statement.where(
            WebhookSubscription.owner == actor.id,
            WebhookSubscription.owner_unit == actor.unit,
            WebhookSubscription.system.is_(False),
        )
    return [_view(s, actor) for s in (await session.scalars(statement)).all()]


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
    require_roles(actor, *SUBSCRIPTION_ROLES)
    subscription = await _subscription(session, subscription_id, actor, request)
    if not _is_owner(subscription, actor):
        raise ForbiddenError(
            "only the subscription's owner may rotate its secret (the new secret is shown to the owner only)"
            + ("; a configured subscriber's secret is set in the configuration" if subscription.system else "")
        )
    secret = rotate_secret(subscription)
    await session.flush()
    return SubscriptionCreated(subscription=_view(subscription, actor), secret=secret)


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
    require_roles(actor, *SUBSCRIPTION_ROLES)
    subscription = await _subscription(session, subscription_id, actor, request)
    if subscription.system:
        raise ForbiddenError("a configured subscriber is removed from the configuration, not through the API")
    subscription.active = False
    await session.flush()


COMPLIANCE_TO_DELIVERY = {
    "obligation.acknowledged": ("acknowledged", "03"),
    "obligation.submitted": ("submitted", "05"),
    "obligation.returned": ("returned", "05"),
    "obligation.accepted": ("accepted", "06"),
    "obligation.overdue": ("overdue", None),
}


class InboxResult(BaseModel):
    event_id: str
    duplicate: bool
    applied: bool


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
    secrets = [s.get_secret_value() for s in request.app.state.settings.inbox_secrets]
    if not secrets:
        raise NotAuthenticatedError("this service accepts no incoming events (no inbox secret configured)")
    body = await request.body()

    async def seen(event_id: str) -> bool:
        return not await claim_received(session, ReceivedEvent, event_id, source="report-api")

    try:
        received = await receive(request.headers, body, secrets, seen)
    except WebhookVerificationError as exc:
        raise NotAuthenticatedError(f"invalid webhook signature: {exc}") from None
    except ValueError as exc:
        raise UnprocessableError(str(exc)) from None
    if received.duplicate:
        return InboxResult(event_id=received.msg_id, duplicate=True, applied=False)
    applied = await _apply_compliance_event(session, received.event, request.app.state.clock())
    return InboxResult(event_id=received.msg_id, duplicate=False, applied=applied)


async def _apply_compliance_event(session: SessionDep, event: dict[str, Any], now: Any) -> bool:
    mapping = COMPLIANCE_TO_DELIVERY.get(str(event.get("type")))
    data = event.get("data") or {}
    if mapping is None:
        return False
    try:
        directive_id = uuid.UUID(str(data.get("directive_id")))
    except ValueError:
        return False
    delivery = await session.scalar(
        select(Delivery)
        .where(Delivery.directive_id == directive_id, Delivery.unit_code == str(data.get("unit_code")))
        .with_for_update()  # events of one obligation applied concurrently take turns
    )
    directive = await session.get(Directive, directive_id)
    if delivery is None or directive is None:  # perhaps a document that reached us over the exchange
        return await received.answer_compliance(
            session, str(event.get("type")), directive_id, str(data.get("unit_code")), now=now
        )
    compliance_status, code = mapping
    # report-api's events arrive in any order (concurrent batches, retries); its `sequence` orders them.
    # An older event than the one shown leaves the compliance status alone; the delivery status only
    # ever moves forward, so it may still advance.
    sequence = event.get("sequence")
    sequence = sequence if type(sequence) is int else None
    last = delivery.compliance_sequence
    stale = sequence is not None and last is not None and sequence <= last
    if not stale:
        delivery.compliance_status = compliance_status
        delivery.compliance_sequence = sequence if sequence is not None else last
        session.add(
            DeliveryStatusLog(
                delivery_id=delivery.id, status=compliance_status, reason=None, source="report-api", at=now
            )
        )
    if (
        code is not None
        and is_further_along(code, delivery.status)  # compliance events never move a delivery backwards
        and directive.status not in ("archived", "recalled")
    ):
        await service.apply_status(
            session, delivery, status=code, reason=None, source="report-api", at=now, directive=directive
        )
    await session.flush()
    return not stale
