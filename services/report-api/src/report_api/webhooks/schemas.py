"""Bodies of the webhook subscriptions (the shape of directive-api's)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from common.outbox.ownership import SubscriptionCreate as SubscriptionCreate  # shared with directive-api
from common.outbox.ownership import SubscriptionCreated as SubscriptionCreated

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
