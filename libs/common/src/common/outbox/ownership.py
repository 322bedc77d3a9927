"""Webhook subscriptions as the services' APIs expose them: request bodies, problems, ownership.

Both services answer ``/v1/webhook-subscriptions`` with the same shapes and the same rule of who
owns what: a subscription belongs to its client (the token's ``sub``) *in its unit* — the same
client name in another unit is someone else; rows from the configuration (``system``, where the
table has that column) belong to no one; the Office's admin sees and deactivates every row, and
sees who owns what, not their keys. Who may subscribe at all (roles) stays each service's rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from common.outbox.settings import WebhookSettings
from common.outbox.subscriptions import create_subscription, subscription_view
from common.problems import NotFoundError, UnprocessableError
from common.webhooks import UnsafeUrlError

__all__ = [
    "SubscriptionCreate",
    "SubscriptionCreated",
    "SubscriptionNotFoundError",
    "SubscriptionOwnership",
    "UnsafeWebhookUrlError",
]


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


@dataclass(frozen=True)
class SubscriptionOwnership:
    """The ownership rule of one service's subscription table.

    Attributes:
        model: The service's subscription class (``owner_unit`` column; optionally ``owner_roles``
            and ``system``).
        office_unit: The unit whose admins see every subscription (None: no one sees others' rows).
        unit_required: Subscriptions belong to a unit: rows without one (made before owners had a
            unit) belong to no one but the Office's admin. Otherwise a client without a unit owns
            the rows it made without one.
    """

    model: type[Any]
    office_unit: str | None = None
    unit_required: bool = False

    def is_office_admin(self, actor: Principal) -> bool:
        return self.office_unit is not None and actor.has_any("admin") and actor.unit == self.office_unit

    def is_owner(self, subscription: Any, actor: Principal) -> bool:
        if getattr(subscription, "system", False):
            return False
        if self.unit_required and subscription.owner_unit is None:
            return False
        return bool(subscription.owner == actor.id and subscription.owner_unit == actor.unit)

    def view(self, subscription: Any, actor: Principal) -> dict[str, Any]:
        """The row as the caller may see it: secret prefixes only for its owner."""
        view = {
            **subscription_view(subscription, secret_prefixes=self.is_owner(subscription, actor)),
            "owner_unit": subscription.owner_unit,
        }
        if hasattr(self.model, "system"):
            view["system"] = subscription.system
        return view

    def readable_statement(self, actor: Principal) -> Select[Any]:
        """The caller's own subscriptions, oldest first; every one for the Office's admin."""
        m = self.model
        statement = select(m).order_by(m.created_at, m.id)
        if self.is_office_admin(actor):
            return statement
        unit = m.owner_unit == actor.unit if self.unit_required else m.owner_unit.is_not_distinct_from(actor.unit)
        statement = statement.where(m.owner == actor.id, unit)
        if hasattr(m, "system"):
            statement = statement.where(m.system.is_(False))
        return statement

    async def listing(self, session: AsyncSession, actor: Principal) -> Sequence[Any]:
        return (await session.scalars(self.readable_statement(actor))).all()

    async def get(self, session: AsyncSession, subscription_id: str, actor: Principal) -> Any:
        """The subscription if the caller owns it or is the Office's admin; 404 for anyone else."""
        subscription = await session.get(self.model, subscription_id)
        if subscription is None or not (self.is_owner(subscription, actor) or self.is_office_admin(actor)):
            raise SubscriptionNotFoundError(f"no subscription {subscription_id}")
        return subscription

    async def create(
        self, session: AsyncSession, body: SubscriptionCreate, actor: Principal, settings: WebhookSettings
    ) -> tuple[Any, str]:
        """A subscription owned by the caller (its client id, unit and, where kept, roles), after the
        SSRF check; returns it with its secret (shown once)."""
        try:
            subscription, secret = await create_subscription(
                session, self.model, owner=actor.id, url=body.url, event_types=body.event_types, settings=settings
            )
        except (UnsafeUrlError, ValueError) as exc:
            raise UnsafeWebhookUrlError(str(exc)) from None
        subscription.owner_unit = actor.unit
        if hasattr(self.model, "owner_roles"):
            subscription.owner_roles = sorted(actor.roles)
        return subscription, secret
