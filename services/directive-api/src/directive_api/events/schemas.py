"""Bodies of the event feed and of the webhook subscriptions."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class EventPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: int
    """Pass it as `after` to get the next page; equal to `after` when nothing new has arrived."""


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
