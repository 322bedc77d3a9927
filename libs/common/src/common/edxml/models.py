"""Typed, immutable models of edXML (QCVN 102:2016) document and status packages.

Python names use English spelling (``business``) while the XML keeps the standard's spelling
(``Bussiness``, ``BussinessDocType``); each field's docstring names its XML element.

All text fields are normalised to Unicode NFC and stripped of surrounding whitespace; characters
that XML 1.0 cannot carry are refused. Optional text fields turn an empty string into ``None``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from common.edxml.formats import format_code

EDXML_NAMESPACE = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
"""The XML namespace of QCVN 102:2016 packages."""

_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_NAME = re.compile(r"""[^\s:<>&'"/=!?\d.-][^\s:<>&'"/=!?]*""")


def _clean_text(value: str) -> str:
    if _XML_ILLEGAL.search(value):
        raise ValueError("text contains characters that XML 1.0 cannot carry")
    return unicodedata.normalize("NFC", value).strip()


def _blank_to_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _xml_name(value: str) -> str:
    if not _XML_NAME.fullmatch(value):
        raise ValueError(f"not an XML local name: {value[:40]!r}")
    return value


def _bare_content_id(value: str) -> str:
    value = value.strip()
    return value[4:].strip() if value.lower().startswith("cid:") else value


Text = Annotated[str, AfterValidator(_clean_text)]
"""Text: NFC, stripped, XML-safe."""

OptText = Annotated[Text | None, BeforeValidator(_blank_to_none)]
"""Optional text: blank becomes None."""

NonEmptyText = Annotated[Text, Field(min_length=1)]
"""Text that must not be empty after stripping."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ParseNote(_Model):
    """Something the tolerant parser accepted or normalised instead of refusing.

    Attributes:
        code: Machine-readable kind (see :class:`NoteCode`).
        message: Human-readable detail.
    """

    code: str
    message: str


class NoteCode(StrEnum):
    """Kinds of :class:`ParseNote`."""

    LEADING_JUNK_SKIPPED = "leading_junk_skipped"
    TRANSCODED = "transcoded"
    UNDECLARED_PREFIX = "undeclared_prefix"
    NO_NAMESPACE = "no_namespace"
    MISSING_ELEMENT = "missing_element"
    INVALID_DATE = "invalid_date"
    DATE_FORMAT = "date_format"
    INVALID_INTEGER = "invalid_integer"
    INVALID_BOOLEAN = "invalid_boolean"
    ORGAN_ID_FORMAT = "organ_id_format"
    CODE_NUMBER_NOT_NUMERIC = "code_number_not_numeric"
    DOCUMENT_ID_FORMAT = "document_id_format"
    DOCUMENT_ID_MISMATCH = "document_id_mismatch"
    EMPTY_RESPONSE_FOR = "empty_response_for"
    ATTACHMENT_NOT_BASE64 = "attachment_not_base64"
    ATTACHMENT_BASE64_PADDING = "attachment_base64_padding"
    ATTACHMENT_WITHOUT_PAYLOAD = "attachment_without_payload"
    ATTACHMENT_WITHOUT_ID = "attachment_without_id"
    ATTACHMENT_WITHOUT_NAME = "attachment_without_name"
    STATUS_CODE_PADDED = "status_code_padded"
    UNKNOWN_STATUS_CODE = "unknown_status_code"


class XmlExtension(_Model):
    """An element the library does not model, kept so that it is neither lost nor refused.

    Attributes:
        name: Local name of the element.
        namespace: Namespace URI; ``None`` means the edXML namespace (or no namespace).
        text: Text content (stripped); None when empty.
        attributes: ``(name, value)`` pairs, names in Clark notation ``{uri}local`` when namespaced.
        children: Child elements.
    """

    name: Annotated[str, AfterValidator(_xml_name)]
    namespace: str | None = None
    text: OptText = None
    attributes: tuple[tuple[str, Text], ...] = ()
    children: tuple[XmlExtension, ...] = ()


class Organization(_Model):
    """An organisation (XML ``From`` / ``To``).

    Attributes:
        organ_id: ``OrganId`` (mã định danh), e.g. ``000.00.00.X01``.
        organ_name: ``OrganName``.
        organization_in_charge: ``OrganizationInCharge`` (parent body; ``OrganInCharge`` is read too).
        organ_add: ``OrganAdd`` (address).
        email: ``Email``.
        telephone: ``Telephone``.
        fax: ``Fax``.
        website: ``Website``.
    """

    organ_id: NonEmptyText
    organ_name: OptText = None
    organization_in_charge: OptText = None
    organ_add: OptText = None
    email: OptText = None
    telephone: OptText = None
    fax: OptText = None
    website: OptText = None


class Code(_Model):
    """Số and ký hiệu (XML ``Code``).

    Attributes:
        code_number: ``CodeNumber`` (kept as text: real packages carry non-numeric values).
        code_notation: ``CodeNotation``, e.g. ``VP-TTĐH``.
    """

    code_number: NonEmptyText
    code_notation: Text = ""

    @property
    def text(self) -> str:
        """The code as written on the document, e.g. ``123/VP-TTĐH``."""
        return format_code(self.code_number, self.code_notation)


class PromulgationInfo(_Model):
    """Place and date of promulgation (XML ``PromulgationInfo``).

    Attributes:
        place: ``Place``.
        promulgation_date: ``PromulgationDate`` (``yyyy/MM/dd``).
    """

    place: OptText = None
    promulgation_date: date | None = None


class DocumentType(_Model):
    """Document type (XML ``DocumentType``).

    Attributes:
        type: ``Type`` (code list is producer-specific; kept as an integer).
        type_detail: ``TypeDetail``.
        type_name: ``TypeName``, e.g. ``Công văn``.
    """

    type: int | None = None
    type_detail: int | None = None
    type_name: OptText = None


class SignerInfo(_Model):
    """Signer (XML ``SignerInfo``).

    Attributes:
        competence: ``Competence`` (authority prefix, e.g. ``KT. CHÁNH VĂN PHÒNG``).
        position: ``Position``.
        full_name: ``FullName``.
    """

    competence: OptText = None
    position: OptText = None
    full_name: OptText = None


class OtherInfo(_Model):
    """Further metadata (XML ``OtherInfo``).

    Attributes:
        priority: ``Priority`` (0–4).
        sphere_of_promulgation: ``SphereOfPromulgation``.
        typer_notation: ``TyperNotation``.
        promulgation_amount: ``PromulgationAmount``.
        page_amount: ``PageAmount``.
        direction: ``Direction`` (VNPT extension, ``true``/``false``).
        appendixes: ``Appendixes/Appendix`` titles.
        extensions: Other children (e.g. ``ReferenceCodes``), kept verbatim.
    """

    priority: int | None = None
    sphere_of_promulgation: OptText = None
    typer_notation: OptText = None
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: bool | None = None
    appendixes: tuple[NonEmptyText, ...] = ()
    extensions: tuple[XmlExtension, ...] = ()


class ResponseFor(_Model):
    """A reference to an earlier document (XML ``ResponseFor``, repeatable).

    Attributes:
        organ_id: ``OrganId`` of the original sender.
        code: ``Code`` of the original, e.g. ``7816/VPCP-TTĐT``.
        promulgation_date: ``PromulgationDate`` of the original.
        document_id: ``DocumentId`` of the original.
    """

    organ_id: OptText = None
    code: OptText = None
    promulgation_date: date | None = None
    document_id: OptText = None


class StaffInfo(_Model):
    """The clerk who handled the package (XML ``StaffInfo``).

    Attributes:
        department: ``Department``.
        staff: ``Staff``.
        email: ``Email``.
        mobile: ``Mobile``.
    """

    department: OptText = None
    staff: OptText = None
    email: OptText = None
    mobile: OptText = None


class TraceHeader(_Model):
    """One hop of the package (XML ``TraceHeader``).

    Attributes:
        organ_id: ``OrganId``.
        timestamp: ``Timestamp`` (naive, Vietnam local time).
    """

    organ_id: NonEmptyText
    timestamp: datetime | None = None


class BusinessDocType(IntEnum):
    """XML ``BussinessDocType``: what the package does to a document."""

    NEW = 0
    """Văn bản điện tử mới."""
    REVOKE = 1
    """Thu hồi (recall)."""
    UPDATE = 2
    """Cập nhật."""
    REPLACE = 3
    """Thay thế."""


class Receiver(_Model):
    """A change of the recipient list (XML ``ReceiverList/Receiver``).

    Attributes:
        organ_id: ``OrganId``.
        receiver_type: ``ReceiverType``: 0 removed from recipients, 1 added.
    """

    organ_id: NonEmptyText
    receiver_type: int | None = None


class BusinessDocumentInfo(_Model):
    """What an update changes (XML ``BussinessDocumentInfo``).

    Attributes:
        document_info: ``DocumentInfo`` (1 = metadata changed).
        document_receiver: ``DocumentReceiver`` (1 = recipient list changed).
        receivers: ``ReceiverList/Receiver`` entries.
    """

    document_info: int | None = None
    document_receiver: int | None = None
    receivers: tuple[Receiver, ...] = ()


class ReplacementInfo(_Model):
    """A document replaced by this one (XML ``ReplacementInfoList/ReplacementInfo``).

    Attributes:
        document_id: ``DocumentId`` of the replaced document.
        organ_ids: ``OrganIdList/OrganId``: organisations that had received it.
    """

    document_id: NonEmptyText
    organ_ids: tuple[NonEmptyText, ...] = ()


class Business(_Model):
    """Business information (XML ``Bussiness``, the standard's spelling).

    Attributes:
        document_id: ``DocumentId`` of the target document (revoke/update).
        business_doc_type: ``BussinessDocType``.
        business_doc_reason: ``BussinessDocReason``.
        paper: ``Paper`` (0 = no paper copy follows).
        business_document_info: ``BussinessDocumentInfo`` (updates).
        replacement_info_list: ``ReplacementInfoList/ReplacementInfo`` (replacements).
        staff_info: ``StaffInfo``.
        extensions: Other children, kept verbatim.
    """

    document_id: OptText = None
    business_doc_type: BusinessDocType = BusinessDocType.NEW
    business_doc_reason: OptText = None
    paper: int | None = None
    business_document_info: BusinessDocumentInfo | None = None
    replacement_info_list: tuple[ReplacementInfo, ...] = ()
    staff_info: StaffInfo | None = None
    extensions: tuple[XmlExtension, ...] = ()


class TraceHeaderList(_Model):
    """XML ``TraceHeaderList``.

    Attributes:
        trace_headers: ``TraceHeader`` entries, one per hop.
        business: ``Bussiness``.
    """

    trace_headers: tuple[TraceHeader, ...] = ()
    business: Business | None = None


class MessageHeader(_Model):
    """Header of a document package (XML ``MessageHeader``).

    Attributes:
        sender: ``From``.
        recipients: ``To`` (one element per main recipient).
        document_id: ``DocumentId`` (``OrganId,yyyy/MM/dd,<số>/<ký hiệu>``).
        code: ``Code``.
        promulgation_info: ``PromulgationInfo``.
        document_type: ``DocumentType``.
        subject: ``Subject`` (trích yếu).
        content: ``Content`` (summary).
        signer_info: ``SignerInfo``.
        due_date: ``DueDate``.
        to_places: ``ToPlaces/Place`` (nơi nhận, free text).
        other_info: ``OtherInfo``.
        response_for: ``ResponseFor`` entries (repeatable).
        steering_type: ``SteeringType``.
        extensions: Other children (e.g. VNPT ``ResponseForTask``), kept verbatim.
    """

    sender: Organization
    recipients: tuple[Organization, ...] = ()
    document_id: OptText = None
    code: Code | None = None
    promulgation_info: PromulgationInfo | None = None
    document_type: DocumentType | None = None
    subject: OptText = None
    content: OptText = None
    signer_info: SignerInfo | None = None
    due_date: date | None = None
    to_places: tuple[NonEmptyText, ...] = ()
    other_info: OtherInfo | None = None
    response_for: tuple[ResponseFor, ...] = ()
    steering_type: int | None = None
    extensions: tuple[XmlExtension, ...] = ()


class Attachment(_Model):
    """An attached file (manifest ``Reference`` + ``AttachmentEncoded/Attachment``).

    Attributes:
        content_id: ``ContentId`` without the ``cid:`` prefix (added back when building).
        attachment_name: ``AttachmentName`` (file name).
        description: ``Description``.
        content_type: ``ContentType`` (MIME type).
        content: Decoded ``ContentTransferEncoded``; None when the package carried no usable
            payload (not base64, or a manifest entry without payload: see the package notes).
    """

    content_id: Annotated[NonEmptyText, AfterValidator(_bare_content_id)]
    attachment_name: NonEmptyText
    description: OptText = None
    content_type: OptText = None
    content: bytes | None = None


class SignatureInfo(_Model):
    """What the header's XML-DSig ``Signature`` says (read only; never verified here).

    Attributes:
        canonicalization_method: ``CanonicalizationMethod/@Algorithm``.
        signature_method: ``SignatureMethod/@Algorithm``.
        digest_method: ``DigestMethod/@Algorithm``.
        digest_value: ``DigestValue``.
        signature_value: ``SignatureValue``.
        x509_subject_name: ``X509SubjectName``.
        x509_certificate: ``X509Certificate`` (base64 DER, as written).
    """

    canonicalization_method: OptText = None
    signature_method: OptText = None
    digest_method: OptText = None
    digest_value: OptText = None
    signature_value: OptText = None
    x509_subject_name: OptText = None
    x509_certificate: OptText = None


class DocumentPackage(_Model):
    """An edXML document package.

    Attributes:
        header: ``MessageHeader``.
        trace_header_list: ``TraceHeaderList``.
        attachments: Attached files.
        signature: The header signature as read (parsing only; the builder never writes it:
            signing the output is a separate step).
        notes: What the parser accepted or normalised (empty for a package built here).
    """

    header: MessageHeader
    trace_header_list: TraceHeaderList = TraceHeaderList()
    attachments: tuple[Attachment, ...] = ()
    signature: SignatureInfo | None = None
    notes: tuple[ParseNote, ...] = ()

    @property
    def business_doc_type(self) -> BusinessDocType:
        """``BussinessDocType``; ``NEW`` when the package has no ``Bussiness``."""
        business = self.trace_header_list.business
        return business.business_doc_type if business is not None else BusinessDocType.NEW

    @property
    def document_id(self) -> str | None:
        """``MessageHeader/DocumentId``."""
        return self.header.document_id


class StatusCode(StrEnum):
    """Known status codes of a status package, with their meaning."""

    INBOX = "01"
    """Đã đến: received by the system, clerk not yet acted."""
    REJECTION = "02"
    """Từ chối tiếp nhận."""
    ACCEPTANCE = "03"
    """Đã tiếp nhận, vào sổ đến."""
    ASSIGNMENT = "04"
    """Phân công xử lý."""
    PROCESSING = "05"
    """Đang xử lý."""
    FINISH = "06"
    """Hoàn thành."""
    RECALL_REQUEST = "13"
    """Yêu cầu lấy lại."""
    CHANGE_ACCEPTED = "15"
    """Đồng ý cập nhật/lấy lại."""
    CHANGE_REJECTED = "16"
    """Từ chối cập nhật/lấy lại."""


STATUS_DESCRIPTIONS: dict[StatusCode, str] = {
    StatusCode.INBOX: ("Văn thư - Phòng Văn thư - Lưu trữ: Đã đến - Phần mềm QLVB đã nhận nhưng văn thư chưa xử lý"),
    StatusCode.REJECTION: "Văn thư - Phòng Văn thư - Lưu trữ: Từ chối không tiếp nhận văn bản điện tử",
    StatusCode.ACCEPTANCE: (
        "Văn thư - Phòng Văn thư - Lưu trữ: Tiếp nhận văn bản điện tử, vào sổ văn bản đến của đơn vị"
    ),
    StatusCode.ASSIGNMENT: "Lãnh đạo: Phân công xử lý",
    StatusCode.PROCESSING: "Đang xử lý văn bản đến",
    StatusCode.FINISH: "Văn thư: Ban hành văn bản đến, hoàn thành xử lý",
    StatusCode.RECALL_REQUEST: "Văn thư yêu cầu lấy lại văn bản điện tử kèm lý do",
    StatusCode.CHANGE_ACCEPTED: "Văn thư đồng ý yêu cầu cập nhật, lấy lại",
    StatusCode.CHANGE_REJECTED: "Văn thư từ chối yêu cầu cập nhật, lấy lại",
}
"""Default ``Description`` per code: the wording of the VNPT samples (typo "Văn thư cơ" of 03 fixed)."""


class StatusPackage(_Model):
    """An edXML status package (receipt / processing acknowledgement).

    Attributes:
        sender: ``From``: the organisation reporting the status.
        response_for: ``ResponseFor``: the document(s) the status is about (normally one).
        staff_info: ``StaffInfo``.
        status_code: ``StatusCode``, two digits (see :class:`StatusCode`; unknown codes are kept).
        description: ``Description``.
        timestamp: ``Timestamp`` (naive, Vietnam local time).
        extensions: Other ``MessageHeader`` children, kept verbatim.
        notes: What the parser accepted or normalised.
    """

    sender: Organization
    response_for: tuple[ResponseFor, ...] = Field(min_length=1)
    staff_info: StaffInfo | None = None
    status_code: Annotated[str, Field(pattern=r"^\d{2,3}$")]
    description: OptText = None
    timestamp: datetime | None = None
    extensions: tuple[XmlExtension, ...] = ()
    notes: tuple[ParseNote, ...] = ()

    @property
    def known_status(self) -> StatusCode | None:
        """The status code as :class:`StatusCode`, or None when it is not a known code."""
        try:
            return StatusCode(self.status_code)
        except ValueError:
            return None

    @property
    def target(self) -> ResponseFor:
        """The (first) document the status is about."""
        return self.response_for[0]
