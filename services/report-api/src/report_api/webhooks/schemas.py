"""Bodies of the webhook subscriptions (the shape of directive-api's)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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


DeliveryStatus = Literal["pending", "delivered", "dead"]


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    event_id: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]


class ReplayResult(BaseModel):
    requeued: int
