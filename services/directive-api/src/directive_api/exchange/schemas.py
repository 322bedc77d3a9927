"""Bodies of the edXML endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from common.edxml import DocumentPackage
from directive_api.exchange.models import ReceivedDocument
from directive_api.exchange.received import Labelled, Opened, OpenedReply
from directive_api.exchange.service import Applied


class StatusApplied(BaseModel):
    status_code: str
    deliveries: list[dict[str, str]]
    """``directive_id``, ``unit_code``, ``status`` (what the delivery shows now) and ``outcome``:
    ``applied``, ``unchanged`` (a later status was already shown) or ``duplicate`` (received before)."""
    quarantine_id: int | None = None
    """Set (with status 202 and no deliveries) when the sender's organ id is not in the directory."""
    received_documents: list[uuid.UUID] = []
    """A recall request (13) about documents sent to us: the ones it is about (no deliveries)."""
    waiting_for: list[str] = []
    """A recall request (13): the DocumentIds it names that have not reached us yet (it labels them
    when they arrive)."""

    @classmethod
    def of(cls, status_code: str, applied: Applied) -> StatusApplied:
        return cls(
            status_code=status_code,
            deliveries=[
                {"directive_id": str(d.directive_id), "unit_code": d.unit_code, "status": d.status, "outcome": outcome}
                for d, _directive, outcome in applied.deliveries
            ],
            quarantine_id=applied.quarantine_id,
        )


class ReplyLinked(BaseModel):
    links: list[dict[str, str]]
    """``directive_id``, ``unit_code`` and ``outcome`` (``applied`` or ``duplicate``)."""
    quarantine_id: int | None = None
    """Set (and no links) when the sender's organ id is not in the directory."""

    @classmethod
    def of(cls, applied: Applied) -> ReplyLinked:
        return cls(
            links=[
                {"directive_id": str(directive.id), "unit_code": delivery.unit_code, "outcome": outcome}
                for delivery, directive, outcome in applied.deliveries
            ],
            quarantine_id=applied.quarantine_id,
        )


class QuarantinedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    sender_organ_id: str
    sender_name: str | None
    sha256: str
    size: int
    summary: str | None
    state: str
    unit_code: str | None
    resolution: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    received_at: datetime


class MapToUnit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_code: str = Field(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]*$")


class Reject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")


class ReceivedChangeRead(BaseModel):
    """An update, replacement or recall the sender of a received document asked for."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: Literal["update", "replace", "revoke", "recall"]
    """An update package, a replacing document, a revocation package, a recall request (status 13)."""
    reason: str | None
    package_id: uuid.UUID | None
    """The update, replacing or revocation package (a received document of its own)."""
    requested_at: datetime
    """When it reached us (before the document itself, when the exchange delivered it first)."""
    state: Literal["pending", "agreed", "refused"]
    """``pending`` until the clerk agrees (15) or refuses (16)."""
    answer_reason: str | None
    answered_by: str | None
    answered_at: datetime | None


class ReceivedRead(BaseModel):
    """A document that reached us over the exchange, the furthest status we answered, and the changes
    its sender asked for."""

    id: uuid.UUID
    sender_organ_id: str
    sender_name: str | None
    sender_unit_code: str | None
    unit_code: str
    document_id: str
    business_doc_type: int
    notation: str | None
    subject: str
    type_name: str | None
    promulgation_date: date | None
    due_date: date | None
    status: str
    """Our furthest status package about it: 01 arrived, 02 refused, 03 registered, 04 assigned, 05
    processing, 06 done."""
    status_reason: str | None = None
    status_by: str | None = None
    status_at: datetime | None = None
    received_at: datetime
    changes: list[ReceivedChangeRead] = []
    """Every change its sender asked for, in arrival order, each answered on its own."""
    change_id: int | None = None
    """The ``change_*`` fields repeat one of ``changes``: the latest waiting for an answer, else the
    latest."""
    change_kind: Literal["update", "replace", "revoke", "recall"] | None = None
    change_reason: str | None = None
    change_package_id: uuid.UUID | None = None
    change_at: datetime | None = None
    change_state: Literal["pending", "agreed", "refused"] | None = None
    change_answer_reason: str | None = None
    change_answered_by: str | None = None
    change_answered_at: datetime | None = None
    recalled_at: datetime | None = None
    """Set when the clerk agreed to its sender's recall or revocation."""

    @classmethod
    def of(cls, labelled: Labelled) -> ReceivedRead:
        document, current = labelled.document, labelled.current
        shown = (
            {
                "change_id": current.id,
                "change_kind": current.kind,
                "change_reason": current.reason,
                "change_package_id": current.package_id,
                "change_at": current.requested_at,
                "change_state": current.state,
                "change_answer_reason": current.answer_reason,
                "change_answered_by": current.answered_by,
                "change_answered_at": current.answered_at,
            }
            if current is not None
            else {}
        )
        columns = {name: getattr(document, name) for name in cls.model_fields if hasattr(ReceivedDocument, name)}
        return cls.model_validate(
            {**columns, "changes": [ReceivedChangeRead.model_validate(c) for c in labelled.changes], **shown}
        )


REASON_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class ReceivedStatusCreate(BaseModel):
    """A person of the addressed unit answers the sender (docs/exchange.md)."""

    model_config = ConfigDict(extra="forbid")

    code: Literal["02", "03", "04", "05", "06"]
    reason: str | None = Field(default=None, min_length=1, max_length=1000, pattern=REASON_PATTERN)
    """Required to refuse (02): the sender is told why; otherwise an optional note."""


class ReceivedChangeAnswer(BaseModel):
    """The clerk's answer to an update, replacement or recall its sender asked for."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["agree", "refuse"]
    reason: str | None = Field(default=None, min_length=1, max_length=1000, pattern=REASON_PATTERN)
    change_id: int | None = Field(default=None, ge=1)
    """Which of the document's ``changes``; without it, the only one waiting for an answer."""


class ReplyLinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    directive_id: uuid.UUID


class ReplyLinkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    directive_id: uuid.UUID
    received_document_id: uuid.UUID
    linked_by: str
    linked_at: datetime


class ReceivedAttachmentRead(BaseModel):
    """One file the package carries (``GET …/attachments/{index}`` or ``…/{name}`` gives its bytes)."""

    index: int
    """Its position in the package, from 0."""
    name: str
    content_type: str | None
    description: str | None
    size: int
    """Bytes, decoded."""


class ReceivedOrganRead(BaseModel):
    organ_id: str
    organ_name: str | None


class PackageHeaderRead(BaseModel):
    """The header fields of a document package as it reached us, and its attachments."""

    code: str | None
    """``Code``: số/ký hiệu (e.g. ``07/VPUB-TTĐH``)."""
    document_type: int | None
    type_detail: int | None
    sender: ReceivedOrganRead
    recipients: list[ReceivedOrganRead]
    promulgation_place: str | None
    signer_name: str | None
    signer_position: str | None
    signer_competence: str | None
    steering_type: int | None
    to_places: list[str]
    content: str | None
    attachments: list[ReceivedAttachmentRead]


def header_fields(package: DocumentPackage) -> dict[str, Any]:
    """:class:`PackageHeaderRead`'s fields of a package."""
    header = package.header
    code, kind, signer = header.code, header.document_type, header.signer_info
    promulgation = header.promulgation_info
    return {
        "code": f"{code.code_number}/{code.code_notation}".rstrip("/") if code else None,
        "document_type": kind.type if kind else None,
        "type_detail": kind.type_detail if kind else None,
        "sender": ReceivedOrganRead(organ_id=header.sender.organ_id, organ_name=header.sender.organ_name),
        "recipients": [ReceivedOrganRead(organ_id=r.organ_id, organ_name=r.organ_name) for r in header.recipients],
        "promulgation_place": promulgation.place if promulgation else None,
        "signer_name": signer.full_name if signer else None,
        "signer_position": signer.position if signer else None,
        "signer_competence": signer.competence if signer else None,
        "steering_type": header.steering_type,
        "to_places": list(header.to_places),
        "content": header.content,
        "attachments": [
            ReceivedAttachmentRead(
                index=index,
                name=a.attachment_name,
                content_type=a.content_type,
                description=a.description,
                size=len(a.content or b""),
            )
            for index, a in enumerate(package.attachments)
        ],
    }


class ReceivedDetail(ReceivedRead, PackageHeaderRead):
    """A received document (as listed) with the header fields of its package and its attachments."""

    @classmethod
    def opened(cls, opened: Opened) -> ReceivedDetail:
        return cls(**ReceivedRead.of(opened.labelled).model_dump(), **header_fields(opened.package))


class ReplyDetail(PackageHeaderRead):
    """A unit's reply document linked to its delivery of one of our documents."""

    package_id: int
    directive_id: uuid.UUID
    """Our document it answers."""
    unit_code: str
    """The replying unit (whose delivery it is linked to)."""
    subject: str | None
    document_id: str | None
    type_name: str | None
    promulgation_date: date | None
    due_date: date | None
    received_at: datetime

    @classmethod
    def opened(cls, reply: OpenedReply) -> ReplyDetail:
        header = reply.package.header
        return cls(
            package_id=reply.record.id,
            directive_id=reply.directive_id,
            unit_code=reply.unit_code,
            subject=header.subject,
            document_id=header.document_id,
            type_name=header.document_type.type_name if header.document_type else None,
            promulgation_date=header.promulgation_info.promulgation_date if header.promulgation_info else None,
            due_date=header.due_date,
            received_at=reply.record.created_at,
            **header_fields(reply.package),
        )
