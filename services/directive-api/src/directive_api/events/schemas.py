"""Bodies of the event feed and of the webhook subscriptions (shared with report-api: common.outbox.ownership)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from common.outbox.ownership import SubscriptionCreate as SubscriptionCreate
from common.outbox.ownership import SubscriptionCreated as SubscriptionCreated


class EventPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: int
    """Pass it as `after` to get the next page; equal to `after` when nothing new has arrived."""
