"""Bodies of the events slice: directive-api's events as report-api reads them (unknown fields ignored),
report-api's feed and the inbox's answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from report_api.submissions.templates import ReportField


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Envelope(_Lenient):
    id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=80)
    source: str | None = None
    subject: str | None = None
    sequence: int | None = None
    occurred_at: datetime | None = None
    data: dict[str, Any]


class ComplianceData(_Lenient):
    deadline_working_days: int | None = Field(default=None, ge=0, le=365)
    due_date: date | None = None
    instructions: str | None = None
    report_fields: list[ReportField] = Field(default_factory=list)


class DirectiveData(_Lenient):
    id: str = Field(min_length=1, max_length=64)
    public_id: str | None = None
    doc_type: str | None = None
    notation: str | None = None
    subject: str = Field(min_length=1, max_length=500)
    issuer_code: str | None = None
    issued_on: date | None = None
    compliance: ComplianceData | None = None


class AddresseeData(_Lenient):
    unit_code: str = Field(min_length=1, max_length=40)
    unit_name: str = Field(min_length=1, max_length=300)
    group_code: str | None = None
    must_act: bool = True
    supervisor_code: str | None = Field(default=None, max_length=40)
    """Optional: the unit's supervising body (Kiểm điểm goes there); the settings' default otherwise."""


class DispatchedData(_Lenient):
    directive: DirectiveData
    addressees: list[AddresseeData] = Field(default_factory=list, max_length=10_000)


class RecalledData(_Lenient):
    directive: DirectiveData
    reason: str | None = None


class ReplacedData(_Lenient):
    directive: DirectiveData
    replaced_by: DirectiveData


class CorrectedData(_Lenient):
    directive: DirectiveData
    """The original document."""
    correction: DirectiveData
    """The đính chính công văn."""


class ReceivedDirectiveData(DirectiveData):
    received_over_exchange: bool = False


class StatusChangedData(_Lenient):
    """``delivery.status_changed``: read only for a document received over the exchange (our unit's
    own answer to its sender); about our deliveries it is informational here."""

    directive: ReceivedDirectiveData
    unit_code: str = Field(min_length=1, max_length=40)
    status: str = Field(min_length=1, max_length=8)
    by: str | None = Field(default=None, max_length=200)


class ReplyData(_Lenient):
    directive: DirectiveData
    unit_code: str
    reply: dict[str, Any]


# --- report-api's feed and the inbox's answer ------------------------------------------------------


class EventEnvelope(BaseModel):
    id: str
    type: str
    occurred_at: datetime
    source: str
    subject: str
    sequence: int
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventEnvelope]
    next_cursor: int | None


class InboxResult(BaseModel):
    id: str
    status: Literal["applied", "duplicate"]
