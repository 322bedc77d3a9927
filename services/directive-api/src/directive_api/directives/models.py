"""Documents, their history, and the numbering registers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import CheckConstraint, Date, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.db import JSONType, UTCDateTime, utc_now
from common.http import IdempotencyRecordMixin
from common.workflow import HISTORY_FIELDS, WorkflowHistoryMixin
from directive_api.directives.states import PRE_ISSUE_STATUSES, DirectiveStatus
from directive_api.models import Model

_STATUSES = ", ".join(f"'{s.value}'" for s in DirectiveStatus)
_PRE_ISSUE = ", ".join(f"'{s.value}'" for s in DirectiveStatus if s in PRE_ISSUE_STATUSES)

STATUS_TYPE = Enum(
    DirectiveStatus,
    native_enum=False,
    create_constraint=False,  # the status_known constraint below, as in the migrations
    length=20,
    values_callable=lambda statuses: [s.value for s in statuses],
    validate_strings=True,
)
"""A VARCHAR(20) in the database, a :class:`DirectiveStatus` in Python (also in Core rows)."""


@dataclass(frozen=True)
class AddresseeRef:
    """A ``Kính gửi`` entry as stored: one group of units or one unit, with an optional printed label."""

    group: str | None = None
    unit: str | None = None
    label: str | None = None

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> AddresseeRef:
        return cls(group=entry.get("group"), unit=entry.get("unit"), label=entry.get("label"))


@dataclass(frozen=True)
class InfoRecipientRef:
    """A ``Nơi nhận`` entry as stored: ``Như trên``, units on one line (optionally labelled), or text."""

    as_above: bool = False
    units: tuple[str, ...] = ()
    text: str | None = None
    label: str | None = None

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> InfoRecipientRef:
        return cls(
            as_above=bool(entry.get("as_above")),
            units=tuple(entry.get("units") or ()),
            text=entry.get("text"),
            label=entry.get("label"),
        )


RecipientKind = Literal["unit", "group"]


def recipient_keys(
    addressees: Iterable[AddresseeRef], info_recipients: Iterable[InfoRecipientRef]
) -> set[tuple[RecipientKind, str]]:
    """The (kind, code) pairs a document is addressed to: what ``directive_recipients`` holds."""
    keys: set[tuple[RecipientKind, str]] = set()
    for addressee in addressees:
        if addressee.group:
            keys.add(("group", addressee.group))
        if addressee.unit:
            keys.add(("unit", addressee.unit))
    keys.update(("unit", code) for recipient in info_recipients for code in recipient.units)
    return keys


def addressee_refs(addressees: Iterable[Mapping[str, Any]]) -> list[AddresseeRef]:
    """The typed view of a document's ``addressees`` JSON (an ORM object's or a Core row's)."""
    return [AddresseeRef.from_json(entry) for entry in addressees]


def info_recipient_refs(info_recipients: Iterable[Mapping[str, Any]]) -> list[InfoRecipientRef]:
    """The typed view of a document's ``info_recipients`` JSON."""
    return [InfoRecipientRef.from_json(entry) for entry in info_recipients]


class Directive(Model):
    """An administrative document (công văn, quyết định, …) through its whole life."""

    __tablename__ = "directives"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(
            f"(status IN ({_PRE_ISSUE})) OR number IS NOT NULL",
            name="issued_has_number",
        ),
        Index("ix_directives_issuer_status", "issuer_code", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    doc_type: Mapped[str] = mapped_column(String(8))
    status: Mapped[DirectiveStatus] = mapped_column(STATUS_TYPE, default=DirectiveStatus.draft)
    version: Mapped[int] = mapped_column(Integer, default=1)
    workflow_version: Mapped[int] = mapped_column(Integer, default=1)

    issuer_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    issuer_notation: Mapped[str] = mapped_column(String(20))
    """The issuer's abbreviation at the time of drafting (``VPUB``)."""
    place_name: Mapped[str] = mapped_column(String(100))
    """Place printed before the date (``Cần Thơ``)."""
    drafting_unit: Mapped[str] = mapped_column(String(20))
    """Abbreviation of the drafting division (``TTĐH``), part of a công văn's notation."""
    register_code: Mapped[str | None] = mapped_column(String(20))
    """Set at issue: ``HC`` for administrative documents, ``MAT`` for secret ones (own series)."""
    subject: Mapped[str] = mapped_column(String(500))
    addressees: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    body: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    annexes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    """Appendices and attached regulations (common.pdf.model.Annex as JSON); None: none."""
    second_signature: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    """A second, printed signer's block (biên bản, giấy ủy quyền): authority_lines, signer_name."""
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    """Uploaded PDFs travelling with the document (name, sha256, size; the bytes in the file store),
    listed under the body and embedded in the signed PDF."""
    signer_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    signature_title_lines: Mapped[list[str]] = mapped_column(JSONType)
    signer_name: Mapped[str] = mapped_column(String(100))
    info_recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    archive_line: Mapped[str] = mapped_column(String(200))
    urgency: Mapped[str | None] = mapped_column(String(20))
    secrecy: Mapped[str | None] = mapped_column(String(20))
    compliance: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    drafter_initials: Mapped[str | None] = mapped_column(String(20))
    copies: Mapped[int | None] = mapped_column(Integer)

    drafted_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_by: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_on: Mapped[date | None] = mapped_column(Date)
    number: Mapped[int | None] = mapped_column(Integer)
    notation: Mapped[str | None] = mapped_column(String(60))
    """The full number and notation, e.g. ``01/VPUB-TTĐH``."""
    signed_sha256: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the PDF the signer signed at approval."""
    issued_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    """SHA-256 of the issued PDF (numbered, dated, sealed): the e-original."""

    dispatch_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    """When the clerk must have dispatched it: the day of issue; at once for urgent documents."""
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    records_file_id: Mapped[int | None] = mapped_column(ForeignKey("records_files.id"))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recall_reason: Mapped[str | None] = mapped_column(Text)
    replaced_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("directives.id"))
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("directives.id"))
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("directives.id"))
    """For a đính chính công văn: the document it corrects."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    @property
    def addressee_entries(self) -> list[AddresseeRef]:
        """``addressees`` as typed entries (the column keeps the JSON of the API)."""
        return addressee_refs(self.addressees)

    @property
    def info_recipient_entries(self) -> list[InfoRecipientRef]:
        """``info_recipients`` as typed entries."""
        return info_recipient_refs(self.info_recipients)


class DirectiveRecipient(Model):
    """One unit or group a document is addressed to (``Kính gửi``) or copied to (``Nơi nhận``).

    Derived from ``addressees`` and ``info_recipients`` whenever they are written (the directives
    repository keeps both in step), so that "documents addressed to my unit" is one indexed query
    instead of reading every document's JSON. Groups stay groups: membership is resolved at read
    time, as it always was.
    """

    __tablename__ = "directive_recipients"
    __table_args__ = (
        CheckConstraint("kind IN ('unit', 'group')", name="kind_known"),
        Index("ix_directive_recipients_kind_code", "kind", "code"),
    )

    directive_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("directives.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)


class DirectiveHistory(WorkflowHistoryMixin, Model):
    """One row per change: who did what, when, from which state to which, and why.

    Append-only (database triggers refuse UPDATE and DELETE) and hash-chained (common.audit).
    """

    __tablename__ = "directive_history"
    __audit_fields__ = ("directive_id", *HISTORY_FIELDS)

    directive_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("directives.id"), index=True)


class Register(Model):
    """A numbering register (sổ): one per (issuer, register code, year), counting from 1."""

    __tablename__ = "registers"
    __table_args__ = (
        UniqueConstraint("issuer_code", "code", "year"),
        CheckConstraint("last_number >= 0", name="last_number_non_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issuer_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    code: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class RegisterEntry(Model):
    """A line of the outgoing register: the number given to one document."""

    __tablename__ = "register_entries"
    __table_args__ = (
        UniqueConstraint("register_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("registers.id"))
    number: Mapped[int] = mapped_column(Integer)
    directive_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("directives.id"), unique=True)
    notation: Mapped[str] = mapped_column(String(60))
    issued_on: Mapped[date] = mapped_column(Date)
    doc_type: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(500))
    signer_name: Mapped[str] = mapped_column(String(100))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class IdempotencyRecord(IdempotencyRecordMixin, Model):
    """Responses remembered per Idempotency-Key."""

    __tablename__ = "idempotency_keys"
