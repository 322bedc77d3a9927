"""Packages from organisations the directory does not know, kept until an administrator decides."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.db import UTCDateTime, utc_now
from directive_api.models import Model

QUARANTINE_STATES = ("pending", "mapped", "rejected")


class QuarantinedPackage(Model):
    """A status or reply package whose sender organ id no unit carries.

    It is kept rather than refused so that nothing a real partner sent is lost: an administrator
    maps the organ id to a unit (the package is then applied) or rejects it.
    """

    __tablename__ = "quarantined_packages"
    __table_args__ = (
        CheckConstraint("kind IN ('status', 'reply')", name="kind_known"),
        CheckConstraint(f"state IN ({', '.join(repr(s) for s in QUARANTINE_STATES)})", name="state_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))
    sender_organ_id: Mapped[str] = mapped_column(String(35), index=True)
    sender_name: Mapped[str | None] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    """The raw package in the file store; the same bytes posted again are kept once."""
    size: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    """The unit the administrator mapped the sender to."""
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


OUTBOX_STATES = ("pending", "sent", "dead")


class ExchangeOutbox(Model):
    """A package to send over the exchange transport, once per ``package_key``.

    The worker builds the package when it sends it, retries with back-off, and gives up
    (``dead``) after the configured attempts or at once when the package cannot be built."""

    __tablename__ = "exchange_outbox"
    __table_args__ = (
        CheckConstraint(f"state IN ({', '.join(repr(s) for s in OUTBOX_STATES)})", name="state_known"),
        Index("ix_exchange_outbox_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    package_key: Mapped[str] = mapped_column(String(200), unique=True)
    """``<directive id>:<kind>`` (document, update, replacement, revocation), or
    ``status:<DocumentId answered>:<code>`` (a reply) / ``status:<received document id>:<code>``:
    what makes a package the same one."""
    directive_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("directives.id"))
    received_document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("received_documents.id"))
    """For our status packages about a document that reached us: the package is built (and its
    ``Timestamp`` taken from ``created_at``) when it is sent."""
    kind: Mapped[str] = mapped_column(String(20))
    message_type: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_error: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    """A status package made when a package arrived (in the file store, signed when sent); a document's
    package is built when it is sent."""
    status_code: Mapped[str | None] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(Text)
    """Our status package's ``Description`` when a person gave a reason (else the code's standard
    wording)."""
    hub_doc_id: Mapped[str | None] = mapped_column(String(64))
    """The DocId the hub answered: the package went out."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


RECEIVED_STATUSES = ("01", "02", "03", "04", "05", "06")


class ReceivedDocument(Model):
    """A document another organisation sent us over the exchange (văn bản đến), not a reply to ours.

    Recorded once per (sender, DocumentId, business type); our status packages about it (01 on
    arrival, then 03 … 06 from the addressed unit's obligation in report-api) leave through the
    exchange outbox. Its ``id`` is the ``directive.id`` of the events report-api receives about it."""

    __tablename__ = "received_documents"
    __table_args__ = (
        UniqueConstraint(
            "sender_organ_id", "document_id", "business_doc_type", name="uq_received_documents_sender_document"
        ),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in RECEIVED_STATUSES)})", name="status_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    sender_organ_id: Mapped[str] = mapped_column(String(35), index=True)
    sender_name: Mapped[str | None] = mapped_column(String(300))
    sender_unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    """The sender's unit in our directory, when it has one."""
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    """Our unit the document is addressed to (the knobstick's recipient organ id)."""
    document_id: Mapped[str] = mapped_column(String(200))
    """The edXML ``DocumentId`` (``OrganId,yyyy/MM/dd,số/ký hiệu``) our status packages answer."""
    business_doc_type: Mapped[int] = mapped_column(Integer, default=0)
    """0 new, 1 revocation, 2 update, 3 replacement (``BussinessDocType``)."""
    notation: Mapped[str | None] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(Text)
    type_name: Mapped[str | None] = mapped_column(String(100))
    promulgation_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    steering_type: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    """The raw package in the file store."""
    size: Mapped[int] = mapped_column(Integer)
    hub_doc_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(3), default="01")
    """The furthest status we have answered (queued to the sender)."""
    status_reason: Mapped[str | None] = mapped_column(Text)
    """Why, when a person answered it (a refusal's reason, a clerk's note)."""
    status_by: Mapped[str | None] = mapped_column(String(64))
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    recalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Its sender took it back and the clerk agreed: nothing more is answered about it."""


class ReplyLink(Model):
    """Our document that answers a received one: its packages carry ``ResponseFor`` to it."""

    __tablename__ = "exchange_reply_links"

    directive_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("directives.id"), primary_key=True)
    received_document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("received_documents.id"), index=True)
    linked_by: Mapped[str] = mapped_column(String(64))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


CHANGE_KINDS = ("update", "replace", "revoke", "recall")
"""What a received document's sender asked after sending it: an update package (BussinessDocType 2), a
replacing document (3), a revocation package (1) or a recall request (status package 13)."""
CHANGE_STATES = ("pending", "agreed", "refused")


class ReceivedChange(Model):
    """One change a sender asked for about one document it sent us: labelled on the received document,
    applied only when the addressed unit's clerk agrees (15), as the vendors' systems do.

    Kept once per (changed DocumentId, sender, request). The exchange does not guarantee order: a
    change that arrives before the document it names waits here (``received_document_id`` empty) and
    labels the document when it arrives."""

    __tablename__ = "received_changes"
    __table_args__ = (
        # Its index also finds the changes waiting for a document (by DocumentId and sender).
        UniqueConstraint("target_document_id", "sender_organ_id", "change_key", name="uq_received_changes_request"),
        CheckConstraint(f"kind IN ({', '.join(repr(s) for s in CHANGE_KINDS)})", name="kind_known"),
        CheckConstraint(f"state IN ({', '.join(repr(s) for s in CHANGE_STATES)})", name="state_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sender_organ_id: Mapped[str] = mapped_column(String(35))
    target_document_id: Mapped[str] = mapped_column(String(200))
    """The DocumentId of the document it changes."""
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    """Our unit the change package was addressed to (a recall request names none)."""
    received_document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("received_documents.id"), index=True)
    """The received document it is about, once that has arrived."""
    kind: Mapped[str] = mapped_column(String(10))
    change_key: Mapped[str] = mapped_column(String(200))
    """What makes the request the same one when it arrives again (the change package's id, or a recall
    request's time and reason)."""
    reason: Mapped[str | None] = mapped_column(Text)
    package_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("received_documents.id"))
    """The update, replacing or revocation package (itself a received document); none for a request."""
    state: Mapped[str] = mapped_column(String(10), default="pending")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    """When the request reached us."""
    answer_reason: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
