"""Bodies of the recipients list and of the inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class LinkedReplyRead(BaseModel):
    """The unit's reply document (edXML ``ResponseFor`` to this document) linked to its delivery."""

    package_id: int
    """The kept package (``exchange_packages``)."""
    code: str | None
    """Its số/ký hiệu."""
    subject: str | None
    document_id: str | None
    """Its edXML ``DocumentId``."""
    received_at: datetime


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
    reply: LinkedReplyRead | None = None
    """The unit's reply that answers this document, once one arrived over the exchange."""


class DeliveryPage(BaseModel):
    directive_id: uuid.UUID
    counts: dict[str, int]
    items: list[DeliveryRead]


class InboxResult(BaseModel):
    event_id: str
    duplicate: bool
    applied: bool
