"""Request and response bodies of the directives API."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    field_validator,
    model_validator,
)

from common.pdf.model import (
    Annex,
    Article,
    Authority,
    Basis,
    Chapter,
    Enactment,
    ListBlock,
    Part,
    Section,
    Table,
)
from directive_api.people.models import SigningAuthority


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def _no_control(value: str) -> str:
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
        raise ValueError("control characters are not allowed")
    return value


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1),
    AfterValidator(_nfc),
    AfterValidator(_no_control),
]
Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
    AfterValidator(_nfc),
    AfterValidator(_no_control),
]


def _clean_structure(value: Any) -> Any:
    """NFC and no control characters in every string of raw structured content (căn cứ, articles,
    tables, annexes): those blocks are the renderer's own models, which do not check text, and a NUL
    is refused by PostgreSQL's JSON."""
    if isinstance(value, str):
        return _no_control(_nfc(value))
    if isinstance(value, list):
        return [_clean_structure(item) for item in value]
    if isinstance(value, dict):
        return {key: _clean_structure(item) for key, item in value.items()}
    return value


class StrictModel(BaseModel):
    """Unknown fields are refused: a client cannot set server-owned state by adding a field."""

    model_config = ConfigDict(extra="forbid")


class ParagraphBlock(StrictModel):
    kind: Literal["paragraph"] = "paragraph"
    text: Annotated[Text, StringConstraints(max_length=20_000)]


class HeadingBlock(StrictModel):
    """A section title such as ``1. Theo dõi và tương tác với kênh thông tin chính thức``."""

    kind: Literal["heading"] = "heading"
    text: Annotated[Text, StringConstraints(max_length=1_000)]


class ListItemBlock(StrictModel):
    """A ``- …`` item of the body."""

    kind: Literal["list_item"] = "list_item"
    text: Annotated[Text, StringConstraints(max_length=5_000)]


class QrBlock(StrictModel):
    """A QR code printed in the body, with the sentence that introduces it."""

    kind: Literal["qr"] = "qr"
    label: Annotated[Text, StringConstraints(max_length=2_000)]
    url: HttpUrl


BodyBlock = Annotated[
    ParagraphBlock
    | HeadingBlock
    | ListItemBlock
    | QrBlock
    | Authority
    | Basis
    | Enactment
    | Article
    | Part
    | Chapter
    | Section
    | ListBlock
    | Table,
    Field(discriminator="kind"),
]
"""A body block. Besides paragraphs, headings, ``- …`` items and QR codes, the structure of legal texts
(the Decree 30 renderer's own models): ``authority`` line, ``basis`` (căn cứ), ``enactment``
(``QUYẾT ĐỊNH:``), ``part``/``chapter``/``section``, ``article`` (clauses, points), ``list``,
``table``."""


class SecondSignature(StrictModel):
    """A second signer's block printed on the left (biên bản: the secretary; giấy ủy quyền: the person
    authorised). Only printed: the document's digital signature is the signer's."""

    authority_lines: Annotated[
        list[Annotated[Text, StringConstraints(max_length=100)]], Field(min_length=1, max_length=4)
    ]
    signer_name: Annotated[Text, StringConstraints(max_length=100)]


class Addressee(StrictModel):
    """A ``Kính gửi`` entry: a group of units (expanded at dispatch) or one unit."""

    group: Code | None = None
    unit: Code | None = None
    label: Annotated[Text, StringConstraints(max_length=300)] | None = None
    """Wording to print instead of the group's or unit's name."""

    @model_validator(mode="after")
    def _one_target(self) -> Addressee:
        if (self.group is None) == (self.unit is None):
            raise ValueError("give exactly one of 'group' or 'unit'")
        return self


class InfoRecipient(StrictModel):
    """A ``Nơi nhận`` entry: ``Như trên``, one or more units on one line, or free text."""

    as_above: bool = False
    units: Annotated[list[Code], Field(min_length=1, max_length=20)] | None = None
    text: Annotated[Text, StringConstraints(max_length=300)] | None = None
    label: Annotated[Text, StringConstraints(max_length=300)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> InfoRecipient:
        kinds = [self.as_above, self.units is not None, self.text is not None]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of 'as_above', 'units' or 'text'")
        if self.label is not None and self.units is None:
            raise ValueError("'label' only applies to 'units'")
        return self


FieldType = Literal["non_negative_integer", "boolean", "url", "date", "text", "evidence"]


class ReportField(StrictModel):
    """One figure or item an addressee unit must report."""

    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
    label: Annotated[Text, StringConstraints(max_length=300)]
    type: FieldType
    required: bool = True


class ComplianceRequest(StrictModel):
    """What the addressee units must report back, and by when."""

    deadline_working_days: Annotated[int, Field(ge=1, le=365)] | None = None
    due_date: date | None = None
    report_fields: Annotated[list[ReportField], Field(max_length=50)] = Field(default_factory=list)
    instructions: Annotated[Text, StringConstraints(max_length=5_000)] | None = None

    @model_validator(mode="after")
    def _deadline(self) -> ComplianceRequest:
        if (self.deadline_working_days is None) == (self.due_date is None):
            raise ValueError("give exactly one of 'deadline_working_days' or 'due_date'")
        keys = [f.key for f in self.report_fields]
        if len(keys) != len(set(keys)):
            raise ValueError("report field keys must be unique")
        return self


def _visible(value: str) -> str:
    # Zero-width spaces, joiners, BOMs and other format characters print nothing: a subject made
    # only of them (and blanks) is empty in the register and on the page.
    if all(unicodedata.category(c) in ("Cf", "Zs", "Zl", "Zp", "Cc") or c.isspace() for c in value):
        raise ValueError("the subject has no visible character")
    return value


Subject = Annotated[Text, StringConstraints(max_length=500), AfterValidator(_visible)]
Urgency = Literal["KHẨN", "THƯỢNG KHẨN", "HỎA TỐC"]
Secrecy = Literal["MẬT", "TỐI MẬT", "TUYỆT MẬT"]
ArchiveLine = Annotated[Text, StringConstraints(max_length=200, pattern=r"^Lưu: VT")]


class DirectiveContent(StrictModel):
    """The editable content of a document (shared by create and replace)."""

    subject: Subject
    """The summary (trích yếu); for a công văn it is printed after ``V/v``, which is added if missing."""
    addressees: Annotated[list[Addressee], Field(max_length=200)] = Field(default_factory=list)
    body: Annotated[list[BodyBlock], Field(min_length=1, max_length=500)]
    annexes: Annotated[list[Annex], Field(max_length=20)] = Field(default_factory=list)
    """Appendices (phụ lục) and, for a quyết định or nghị quyết, the quy chế/quy định it issues."""
    second_signature: SecondSignature | None = None
    signer_id: Code
    signing_authority: SigningAuthority | None = None
    """The authority the document is signed under (``TM.``, ``KT.``, ``TL.``, ``TUQ.``, ``Q.``): the
    signature block is the signer's block for it (``GET /v1/people/{id}``, ``signature_titles``).
    Without it, the signer's default block (``signature_title_lines``)."""
    info_recipients: Annotated[list[InfoRecipient], Field(max_length=100)] = Field(default_factory=list)
    archive_line: ArchiveLine = "Lưu: VT."
    urgency: Urgency | None = None
    secrecy: Secrecy | None = None
    compliance: ComplianceRequest | None = None
    drafter_initials: Annotated[str, StringConstraints(max_length=20, pattern=r"^[A-ZĐ0-9.]+$")] | None = None
    copies: Annotated[int, Field(ge=1, le=9999)] | None = None

    _clean_text = field_validator("body", "annexes", mode="before")(_clean_structure)


class DirectiveCreate(DirectiveContent):
    """A new draft. Number, date, status and version are set by the system, never by the client."""

    corrects_id: uuid.UUID | None = None
    """For a đính chính công văn: the issued document whose format or procedure errors it corrects."""

    doc_type: Annotated[str, StringConstraints(max_length=8)] = "CV"
    issuer_code: Code | None = None
    """Defaults to the caller's unit."""
    drafting_unit: Annotated[str, StringConstraints(pattern=r"^[A-ZĐ0-9]{1,20}$")]


class DirectiveUpdate(StrictModel):
    """A partial change of a draft (only in ``draft`` or ``returned``)."""

    subject: Subject | None = None
    addressees: Annotated[list[Addressee], Field(max_length=200)] | None = None
    body: Annotated[list[BodyBlock], Field(min_length=1, max_length=500)] | None = None
    annexes: Annotated[list[Annex], Field(max_length=20)] | None = None
    second_signature: SecondSignature | None = None
    attachments: Annotated[list[AttachmentRef], Field(max_length=20)] | None = None
    """The uploaded attachments to keep, in the order to list them (upload with
    ``POST /v1/directives/{id}/attachments``)."""
    signer_id: Code | None = None
    signing_authority: SigningAuthority | None = None
    info_recipients: Annotated[list[InfoRecipient], Field(max_length=100)] | None = None
    archive_line: ArchiveLine | None = None
    urgency: Urgency | None = None
    secrecy: Secrecy | None = None
    compliance: ComplianceRequest | None = None
    drafter_initials: Annotated[str, StringConstraints(max_length=20, pattern=r"^[A-ZĐ0-9.]+$")] | None = None
    copies: Annotated[int, Field(ge=1, le=9999)] | None = None
    drafting_unit: Annotated[str, StringConstraints(pattern=r"^[A-ZĐ0-9]{1,20}$")] | None = None

    _clean_text = field_validator("body", "annexes", mode="before")(_clean_structure)


class AttachmentRef(StrictModel):
    """An attachment already uploaded to the document, by its SHA-256."""

    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class AttachmentRead(BaseModel):
    """A PDF travelling with the document (tài liệu kèm theo)."""

    name: str
    sha256: str
    size: int


class RecordsFileRef(StrictModel):
    """The records file (hồ sơ) to file a document into; created on first use."""

    file_notation: Annotated[str, StringConstraints(pattern=r"^[A-Za-zĐđ0-9.\-]{1,20}$")]
    title: Annotated[Text, StringConstraints(max_length=500)]
    retention: Annotated[str, StringConstraints(pattern=r"^(\d{1,2} năm|Vĩnh viễn)$")] = "10 năm"


class TransitionRequest(StrictModel):
    """What an action needs besides the `If-Match` header.

    `comment` is required to return or recall a document; `records_file` to archive it;
    `replacement_id` (an issued document) to replace it.
    """

    comment: Annotated[Text, StringConstraints(max_length=5_000)] | None = None
    records_file: RecordsFileRef | None = None
    replacement_id: uuid.UUID | None = None


class DirectiveRead(BaseModel):
    """A document as the API shows it."""

    id: uuid.UUID
    public_id: str
    doc_type: str
    doc_type_name: str
    status: str
    version: int
    etag: str
    issuer_code: str
    drafting_unit: str
    subject: str
    addressees: list[dict[str, Any]]
    body: list[dict[str, Any]]
    annexes: list[dict[str, Any]] = Field(default_factory=list)
    second_signature: dict[str, Any] | None = None
    attachments: list[AttachmentRead] = Field(default_factory=list)
    signer_id: str
    signer_name: str
    signature_title_lines: list[str]
    info_recipients: list[dict[str, Any]]
    archive_line: str
    urgency: str | None
    secrecy: str | None
    compliance: dict[str, Any] | None
    drafter_initials: str | None
    copies: int | None
    register_code: str | None
    number: int | None
    notation: str | None
    """``01/VPUB-TTĐH`` once issued."""
    number_line: str
    """``Số: 01/VPUB-TTĐH`` (``Số:   /VPUB-TTĐH`` before issue)."""
    place_date_line: str
    issued_on: date | None
    issued_at: datetime | None
    issued_by: str | None
    approved_by: str | None
    approved_at: datetime | None
    drafted_by: str
    created_at: datetime
    updated_at: datetime
    allowed_actions: list[str]
    """What the caller may do next."""
    signed_sha256: str | None
    issued_sha256: str | None
    dispatched_at: datetime | None
    archived_at: datetime | None
    records_file_id: int | None
    recalled_at: datetime | None
    recall_reason: str | None
    replaced_by_id: uuid.UUID | None
    replaces_id: uuid.UUID | None
    corrects_id: uuid.UUID | None


class DirectivePage(BaseModel):
    items: list[DirectiveRead]
    next_cursor: str | None


class HistoryEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    from_status: str | None
    to_status: str
    actor_id: str
    actor_name: str
    actor_roles: list[str]
    comment: str | None
    version: int
    workflow: str
    workflow_version: int
    at: datetime


class RegisterEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    notation: str
    issued_on: date
    doc_type: str
    subject: str
    signer_name: str
    directive_id: uuid.UUID
    recorded_by: str
    recorded_at: datetime


class RegisterRead(BaseModel):
    issuer_code: str
    code: str
    year: int
    last_number: int
    entries: list[RegisterEntryRead]
