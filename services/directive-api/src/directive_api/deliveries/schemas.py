"""Bodies of the recipients list and of the inbox."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict


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


class InboxResult(BaseModel):
    event_id: str
    duplicate: bool
    applied: bool
