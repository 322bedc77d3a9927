"""Tolerant reading of edXML document and status packages.

Elements are matched by local name, so the default-namespace form (``<edXML xmlns=...>``), the
``edXML:``-prefixed form, and packages that mix both (as the VNPT samples do) all read the same.
Unknown elements are tolerated (kept as :class:`~common.edxml.models.XmlExtension` where they can
matter). Whatever is accepted despite not following QCVN 102 is reported in ``notes``.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date, datetime

from lxml import etree
from pydantic import ValidationError

from common.edxml.errors import EdxmlError, EdxmlErrorCode
from common.edxml.formats import (
    OrganIdFormat,
    classify_organ_id,
    format_code,
    format_date,
    format_timestamp,
    parse_date,
    parse_document_id,
    parse_timestamp,
)
from common.edxml.models import (
    EDXML_NAMESPACE,
    Attachment,
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    Code,
    DocumentPackage,
    DocumentType,
    MessageHeader,
    NoteCode,
    Organization,
    OtherInfo,
    ParseNote,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignatureInfo,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusPackage,
    TraceHeader,
    TraceHeaderList,
    XmlExtension,
)
from common.edxml.safexml import DEFAULT_LIMITS, ParseLimits, load_xml

_Element = etree._Element
_INTEGER = re.compile(r"[+-]?\d{1,18}")
_BASE64_ALPHABET = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _local(element: _Element) -> str | None:
    tag = element.tag
    if not isinstance(tag, str):
        return None
    return tag.rpartition("}")[2]


def _namespace(element: _Element) -> str | None:
    tag = element.tag
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].partition("}")[0]
    return None


def _children(element: _Element | None, name: str) -> list[_Element]:
    if element is None:
        return []
    return [child for child in element if _local(child) == name]


def _child(element: _Element | None, *names: str) -> _Element | None:
    if element is None:
        return None
    for child in element:
        if _local(child) in names:
            return child
    return None


def _descendant(element: _Element | None, name: str) -> _Element | None:
    if element is None:
        return None
    for node in element.iter():
        if _local(node) == name:
            return node
    return None


def _text_of(element: _Element | None) -> str | None:
    if element is None:
        return None
    text = "".join(part for part in element.itertext() if isinstance(part, str)).strip()
    return text or None


class _Reader:
    """Extraction state: limits and the notes collected so far."""

    def __init__(self, limits: ParseLimits, notes: list[ParseNote]) -> None:
        self.limits = limits
        self.notes = notes
        self._seen_organ_ids: set[str] = set()

    def note(self, code: NoteCode, message: str) -> None:
        self.notes.append(ParseNote(code=code.value, message=message))

    # --- scalar values ---------------------------------------------------------------------

    def text(self, parent: _Element | None, *names: str) -> str | None:
        return _text_of(_child(parent, *names))

    def integer(self, parent: _Element | None, name: str, where: str) -> int | None:
        raw = self.text(parent, name)
        if raw is None:
            return None
        if not _INTEGER.fullmatch(raw):
            self.note(NoteCode.INVALID_INTEGER, f"{where}/{name} is not an integer: {raw[:40]!r} (ignored)")
            return None
        return int(raw)

    def boolean(self, parent: _Element | None, name: str, where: str) -> bool | None:
        raw = self.text(parent, name)
        if raw is None:
            return None
        lowered = raw.lower()
        if lowered in {"true", "1"}:
            return True
        if lowered in {"false", "0"}:
            return False
        self.note(NoteCode.INVALID_BOOLEAN, f"{where}/{name} is not a boolean: {raw[:40]!r} (ignored)")
        return None

    def date(self, parent: _Element | None, name: str, where: str) -> date | None:
        raw = self.text(parent, name)
        if raw is None:
            return None
        try:
            value = parse_date(raw)
        except ValueError:
            self.note(NoteCode.INVALID_DATE, f"{where}/{name} is not a valid date: {raw[:40]!r} (ignored)")
            return None
        if format_date(value) != raw:
            self.note(NoteCode.DATE_FORMAT, f"{where}/{name} {raw[:40]!r} read as {format_date(value)}")
        return value

    def timestamp(self, parent: _Element | None, name: str, where: str) -> datetime | None:
        raw = self.text(parent, name)
        if raw is None:
            return None
        try:
            value = parse_timestamp(raw)
        except ValueError:
            self.note(NoteCode.INVALID_DATE, f"{where}/{name} is not a valid timestamp: {raw[:40]!r} (ignored)")
            return None
        if format_timestamp(value) != raw:
            self.note(NoteCode.DATE_FORMAT, f"{where}/{name} {raw[:40]!r} read as {format_timestamp(value)}")
        return value

    def check_organ_id(self, organ_id: str | None, where: str) -> None:
        if organ_id is None or organ_id in self._seen_organ_ids:
            return
        self._seen_organ_ids.add(organ_id)
        kind = classify_organ_id(organ_id)
        if kind is OrganIdFormat.QCVN_102:
            return
        described = "a QĐ 20/2020 identifier" if kind is OrganIdFormat.QD_20 else "of unknown format"
        self.note(
            NoteCode.ORGAN_ID_FORMAT,
            f"{where}: organisation id {organ_id[:40]!r} is not in the QCVN 102 form NNN.NN.NN.XNN "
            f"({described}); accepted as is",
        )

    # --- structures ------------------------------------------------------------------------

    def extension(self, element: _Element) -> XmlExtension:
        namespace = _namespace(element)
        return XmlExtension(
            name=_local(element) or "unknown",
            namespace=None if namespace in (None, EDXML_NAMESPACE) else namespace,
            text=(element.text or "").strip() or None,
            attributes=tuple((str(key), str(value)) for key, value in element.attrib.items()),
            children=tuple(self.extension(child) for child in element if _local(child) is not None),
        )

    def extensions(self, parent: _Element | None, known: frozenset[str]) -> tuple[XmlExtension, ...]:
        if parent is None:
            return ()
        return tuple(
            self.extension(child) for child in parent if _local(child) is not None and _local(child) not in known
        )

    def organization(self, element: _Element, where: str, *, required: bool) -> Organization | None:
        organ_id = self.text(element, "OrganId")
        if organ_id is None:
            if required:
                raise EdxmlError(EdxmlErrorCode.INVALID_PACKAGE, f"{where} has no OrganId")
            self.note(NoteCode.MISSING_ELEMENT, f"{where} without OrganId ignored")
            return None
        self.check_organ_id(organ_id, where)
        return Organization(
            organ_id=organ_id,
            organ_name=self.text(element, "OrganName"),
            organization_in_charge=self.text(element, "OrganizationInCharge", "OrganInCharge"),
            organ_add=self.text(element, "OrganAdd"),
            email=self.text(element, "Email"),
            telephone=self.text(element, "Telephone"),
            fax=self.text(element, "Fax"),
            website=self.text(element, "Website"),
        )

    def sender(self, header: _Element) -> Organization:
        element = _child(header, "From")
        if element is None:
            raise EdxmlError(EdxmlErrorCode.INVALID_PACKAGE, "MessageHeader has no From")
        organization = self.organization(element, "From", required=True)
        assert organization is not None
        return organization

    def response_for(self, header: _Element) -> tuple[ResponseFor, ...]:
        result: list[ResponseFor] = []
        for element in _children(header, "ResponseFor"):
            item = ResponseFor(
                organ_id=self.text(element, "OrganId"),
                code=self.text(element, "Code"),
                promulgation_date=self.date(element, "PromulgationDate", "ResponseFor"),
                document_id=self.text(element, "DocumentId"),
            )
            if item == ResponseFor():
                self.note(NoteCode.EMPTY_RESPONSE_FOR, "an empty ResponseFor was dropped")
                continue
            self.check_organ_id(item.organ_id, "ResponseFor")
            result.append(item)
        return tuple(result)

    def staff_info(self, parent: _Element | None) -> StaffInfo | None:
        element = _child(parent, "StaffInfo")
        if element is None:
            return None
        return StaffInfo(
            department=self.text(element, "Department"),
            staff=self.text(element, "Staff"),
            email=self.text(element, "Email"),
            mobile=self.text(element, "Mobile"),
        )

    def code(self, header: _Element) -> Code | None:
        element = _child(header, "Code")
        number = self.text(element, "CodeNumber")
        if number is None:
            self.note(NoteCode.MISSING_ELEMENT, "MessageHeader has no Code/CodeNumber")
            return None
        if not number.isdigit():
            self.note(NoteCode.CODE_NUMBER_NOT_NUMERIC, f"CodeNumber {number[:40]!r} is not a number; kept as text")
        return Code(code_number=number, code_notation=self.text(element, "CodeNotation") or "")

    def other_info(self, header: _Element) -> OtherInfo | None:
        element = _child(header, "OtherInfo")
        if element is None:
            return None
        where = "OtherInfo"
        return OtherInfo(
            priority=self.integer(element, "Priority", where),
            sphere_of_promulgation=self.text(element, "SphereOfPromulgation"),
            typer_notation=self.text(element, "TyperNotation"),
            promulgation_amount=self.integer(element, "PromulgationAmount", where),
            page_amount=self.integer(element, "PageAmount", where),
            direction=self.boolean(element, "Direction", where),
            appendixes=tuple(
                text
                for text in (_text_of(item) for item in _children(_child(element, "Appendixes"), "Appendix"))
                if text is not None
            ),
            extensions=self.extensions(element, _OTHER_INFO_KNOWN),
        )

    def business(self, trace_list: _Element | None) -> Business | None:
        element = _child(trace_list, "Bussiness", "Business")
        if element is None:
            return None
        raw_type = self.text(element, "BussinessDocType", "BusinessDocType")
        if raw_type is None:
            self.note(NoteCode.MISSING_ELEMENT, "Bussiness has no BussinessDocType; read as 0 (new)")
            doc_type = BusinessDocType.NEW
        else:
            if not _INTEGER.fullmatch(raw_type) or int(raw_type) not in {t.value for t in BusinessDocType}:
                raise EdxmlError(
                    EdxmlErrorCode.INVALID_PACKAGE,
                    f"unknown BussinessDocType {raw_type[:20]!r} (expected 0-3)",
                )
            doc_type = BusinessDocType(int(raw_type))
        info_element = _child(element, "BussinessDocumentInfo", "BusinessDocumentInfo")
        info = None
        if info_element is not None:
            receivers = []
            for receiver in _children(_child(info_element, "ReceiverList"), "Receiver"):
                organ_id = self.text(receiver, "OrganId")
                if organ_id is None:
                    self.note(NoteCode.MISSING_ELEMENT, "a Receiver without OrganId was ignored")
                    continue
                receivers.append(
                    Receiver(organ_id=organ_id, receiver_type=self.integer(receiver, "ReceiverType", "Receiver"))
                )
            info = BusinessDocumentInfo(
                document_info=self.integer(info_element, "DocumentInfo", "BussinessDocumentInfo"),
                document_receiver=self.integer(info_element, "DocumentReceiver", "BussinessDocumentInfo"),
                receivers=tuple(receivers),
            )
        replacements = []
        for item in _children(_child(element, "ReplacementInfoList"), "ReplacementInfo"):
            document_id = self.text(item, "DocumentId")
            if document_id is None:
                self.note(NoteCode.MISSING_ELEMENT, "a ReplacementInfo without DocumentId was ignored")
                continue
            organ_ids = tuple(
                text
                for text in (_text_of(o) for o in _children(_child(item, "OrganIdList"), "OrganId"))
                if text is not None
            )
            replacements.append(ReplacementInfo(document_id=document_id, organ_ids=organ_ids))
        return Business(
            document_id=self.text(element, "DocumentId"),
            business_doc_type=doc_type,
            business_doc_reason=self.text(element, "BussinessDocReason", "BusinessDocReason"),
            paper=self.integer(element, "Paper", "Bussiness"),
            business_document_info=info,
            replacement_info_list=tuple(replacements),
            staff_info=self.staff_info(element),
            extensions=self.extensions(element, _BUSINESS_KNOWN),
        )

    def trace_header_list(self, edxml_header: _Element) -> TraceHeaderList:
        element = _child(edxml_header, "TraceHeaderList")
        traces = []
        for trace in _children(element, "TraceHeader"):
            organ_id = self.text(trace, "OrganId")
            if organ_id is None:
                self.note(NoteCode.MISSING_ELEMENT, "a TraceHeader without OrganId was ignored")
                continue
            self.check_organ_id(organ_id, "TraceHeader")
            traces.append(TraceHeader(organ_id=organ_id, timestamp=self.timestamp(trace, "Timestamp", "TraceHeader")))
        return TraceHeaderList(trace_headers=tuple(traces), business=self.business(element))

    def signature(self, edxml_header: _Element) -> SignatureInfo | None:
        element = _child(edxml_header, "Signature")
        if element is None:
            return None

        def algorithm(name: str) -> str | None:
            node = _descendant(element, name)
            return None if node is None else node.get("Algorithm")

        return SignatureInfo(
            canonicalization_method=algorithm("CanonicalizationMethod"),
            signature_method=algorithm("SignatureMethod"),
            digest_method=algorithm("DigestMethod"),
            digest_value=_text_of(_descendant(element, "DigestValue")),
            signature_value=_text_of(_descendant(element, "SignatureValue")),
            x509_subject_name=_text_of(_descendant(element, "X509SubjectName")),
            x509_certificate=_text_of(_descendant(element, "X509Certificate")),
        )

    def decode(self, encoded: str | None, content_id: str) -> bytes | None:
        if encoded is None:
            self.note(NoteCode.ATTACHMENT_WITHOUT_PAYLOAD, f"attachment {content_id[:60]!r} has no payload")
            return None
        compact = "".join(encoded.split())
        if len(compact) // 4 * 3 > self.limits.max_attachment_bytes:
            raise EdxmlError(
                EdxmlErrorCode.TOO_LARGE,
                f"attachment {content_id[:60]!r} exceeds {self.limits.max_attachment_bytes} bytes",
            )
        if not _BASE64_ALPHABET.fullmatch(compact) or len(compact.rstrip("=")) % 4 == 1:
            self.note(
                NoteCode.ATTACHMENT_NOT_BASE64,
                f"attachment {content_id[:60]!r}: payload is not base64 ({compact[:24]!r}…); content unavailable",
            )
            return None
        if len(compact) % 4:
            padded = compact.rstrip("=")
            padded += "=" * (-len(padded) % 4)
            self.note(NoteCode.ATTACHMENT_BASE64_PADDING, f"attachment {content_id[:60]!r}: base64 padding fixed")
            compact = padded
        try:
            return base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            self.note(
                NoteCode.ATTACHMENT_NOT_BASE64,
                f"attachment {content_id[:60]!r}: payload is not valid base64; content unavailable",
            )
            return None

    def attachments(self, root: _Element, envelope: _Element) -> tuple[Attachment, ...]:
        manifest = _child(_child(envelope, "edXMLBody"), "edXMLManifest")
        references: dict[str, _Element] = {}
        for reference in _children(manifest, "Reference"):
            content_id = self.text(reference, "ContentId") or _href(reference)
            if content_id is not None:
                references.setdefault(_bare_cid(content_id), reference)
        encoded = [
            item
            for container in (
                *_children(root, "AttachmentEncoded"),
                *_children(envelope, "AttachmentEncoded"),
            )
            for item in _children(container, "Attachment")
        ]
        if max(len(encoded), len(references)) > self.limits.max_attachments:
            raise EdxmlError(EdxmlErrorCode.TOO_COMPLEX, f"more than {self.limits.max_attachments} attachments")
        result: list[Attachment] = []
        used: set[str] = set()
        for index, item in enumerate(encoded, start=1):
            raw_id = self.text(item, "ContentId")
            if raw_id is None:
                raw_id = f"attachment-{index}"
                self.note(NoteCode.ATTACHMENT_WITHOUT_ID, f"attachment #{index} has no ContentId; named {raw_id!r}")
            content_id = _bare_cid(raw_id)
            used.add(content_id)
            manifest_entry = references.get(content_id)
            content = self.decode(self.text(item, "ContentTransferEncoded"), content_id)
            result.append(
                self._attachment(
                    content_id,
                    name=self.text(item, "AttachmentName") or self.text(manifest_entry, "AttachmentName"),
                    description=self.text(item, "Description") or self.text(manifest_entry, "Description"),
                    content_type=self.text(item, "ContentType") or self.text(manifest_entry, "ContentType"),
                    content=content,
                )
            )
        for content_id, reference in references.items():
            if content_id in used:
                continue
            self.note(
                NoteCode.ATTACHMENT_WITHOUT_PAYLOAD,
                f"manifest Reference {content_id[:60]!r} has no AttachmentEncoded payload",
            )
            result.append(
                self._attachment(
                    content_id,
                    name=self.text(reference, "AttachmentName"),
                    description=self.text(reference, "Description"),
                    content_type=self.text(reference, "ContentType"),
                    content=None,
                )
            )
        return tuple(result)

    def _attachment(
        self,
        content_id: str,
        *,
        name: str | None,
        description: str | None,
        content_type: str | None,
        content: bytes | None,
    ) -> Attachment:
        if name is None:
            name = content_id
            self.note(NoteCode.ATTACHMENT_WITHOUT_NAME, f"attachment {content_id[:60]!r} has no name; id used")
        return Attachment(
            content_id=content_id,
            attachment_name=name,
            description=description,
            content_type=content_type,
            content=content,
        )

    def check_document_id(self, header: MessageHeader) -> None:
        document_id = header.document_id
        if document_id is None:
            self.note(NoteCode.MISSING_ELEMENT, "MessageHeader has no DocumentId")
            return
        try:
            parts = parse_document_id(document_id)
        except EdxmlError:
            self.note(
                NoteCode.DOCUMENT_ID_FORMAT,
                f"DocumentId {document_id[:80]!r} does not follow 'OrganId,yyyy/MM/dd,<number>/<notation>'",
            )
            return
        promulgation_date = header.promulgation_info.promulgation_date if header.promulgation_info else None
        expected = (
            header.sender.organ_id,
            promulgation_date,
            header.code.text if header.code else None,
        )
        found = (parts.organ_id, parts.promulgation_date, format_code(parts.code_number, parts.code_notation))
        if expected != found:
            self.note(
                NoteCode.DOCUMENT_ID_MISMATCH,
                f"DocumentId {document_id[:80]!r} does not match From/OrganId, PromulgationDate and Code",
            )


_OTHER_INFO_KNOWN = frozenset(
    {
        "Priority",
        "SphereOfPromulgation",
        "TyperNotation",
        "PromulgationAmount",
        "PageAmount",
        "Direction",
        "Appendixes",
    }
)
_BUSINESS_KNOWN = frozenset(
    {
        "DocumentId",
        "BussinessDocType",
        "BusinessDocType",
        "BussinessDocReason",
        "BusinessDocReason",
        "Paper",
        "BussinessDocumentInfo",
        "BusinessDocumentInfo",
        "ReplacementInfoList",
        "StaffInfo",
    }
)
_DOCUMENT_HEADER_KNOWN = frozenset(
    {
        "From",
        "To",
        "DocumentId",
        "Code",
        "PromulgationInfo",
        "DocumentType",
        "Subject",
        "Content",
        "SignerInfo",
        "DueDate",
        "ToPlaces",
        "OtherInfo",
        "ResponseFor",
        "SteeringType",
    }
)
_STATUS_HEADER_KNOWN = frozenset({"From", "ResponseFor", "StaffInfo", "StatusCode", "Description", "Timestamp"})


def _bare_cid(content_id: str) -> str:
    content_id = content_id.strip()
    return content_id[4:].strip() if content_id.lower().startswith("cid:") else content_id


def _href(reference: _Element) -> str | None:
    for key, value in reference.attrib.items():
        if str(key).rpartition("}")[2] == "href" and str(value).strip():
            return str(value).strip()
    return None


def _structure(root: _Element, reader: _Reader) -> tuple[_Element, _Element, _Element]:
    """Return (envelope, edXMLHeader, MessageHeader) or refuse a non-edXML document."""
    if _local(root) != "edXML":
        raise EdxmlError(EdxmlErrorCode.NOT_EDXML, f"root element is {str(_local(root))[:40]!r}, not 'edXML'")
    namespace = _namespace(root)
    if namespace is None:
        reader.note(NoteCode.NO_NAMESPACE, "root element has no namespace; read as QCVN 102:2016")
    elif namespace != EDXML_NAMESPACE:
        raise EdxmlError(EdxmlErrorCode.NOT_EDXML, f"root element is in namespace {namespace[:80]!r}")
    envelope = _child(root, "edXMLEnvelope")
    edxml_header = _child(envelope, "edXMLHeader")
    message_header = _child(edxml_header, "MessageHeader")
    if envelope is None or edxml_header is None or message_header is None:
        raise EdxmlError(EdxmlErrorCode.NOT_EDXML, "missing edXMLEnvelope/edXMLHeader/MessageHeader")
    return envelope, edxml_header, message_header


def _read_document(
    root: _Element, envelope: _Element, edxml_header: _Element, header: _Element, reader: _Reader
) -> DocumentPackage:
    sender = reader.sender(header)
    recipients = tuple(
        organization
        for organization in (reader.organization(to, "To", required=False) for to in _children(header, "To"))
        if organization is not None
    )
    if not recipients:
        reader.note(NoteCode.MISSING_ELEMENT, "MessageHeader has no To")
    promulgation = _child(header, "PromulgationInfo")
    promulgation_info = None
    if promulgation is None:
        reader.note(NoteCode.MISSING_ELEMENT, "MessageHeader has no PromulgationInfo")
    else:
        promulgation_info = PromulgationInfo(
            place=reader.text(promulgation, "Place"),
            promulgation_date=reader.date(promulgation, "PromulgationDate", "PromulgationInfo"),
        )
    type_element = _child(header, "DocumentType")
    document_type = None
    if type_element is None:
        reader.note(NoteCode.MISSING_ELEMENT, "MessageHeader has no DocumentType")
    else:
        document_type = DocumentType(
            type=reader.integer(type_element, "Type", "DocumentType"),
            type_detail=reader.integer(type_element, "TypeDetail", "DocumentType"),
            type_name=reader.text(type_element, "TypeName"),
        )
    subject = reader.text(header, "Subject")
    if subject is None:
        reader.note(NoteCode.MISSING_ELEMENT, "MessageHeader has no Subject")
    signer = _child(header, "SignerInfo")
    message_header = MessageHeader(
        sender=sender,
        recipients=recipients,
        document_id=reader.text(header, "DocumentId"),
        code=reader.code(header),
        promulgation_info=promulgation_info,
        document_type=document_type,
        subject=subject,
        content=reader.text(header, "Content"),
        signer_info=None
        if signer is None
        else SignerInfo(
            competence=reader.text(signer, "Competence"),
            position=reader.text(signer, "Position"),
            full_name=reader.text(signer, "FullName"),
        ),
        due_date=reader.date(header, "DueDate", "MessageHeader"),
        to_places=tuple(
            text
            for text in (_text_of(place) for place in _children(_child(header, "ToPlaces"), "Place"))
            if text is not None
        ),
        other_info=reader.other_info(header),
        response_for=reader.response_for(header),
        steering_type=reader.integer(header, "SteeringType", "MessageHeader"),
        extensions=reader.extensions(header, _DOCUMENT_HEADER_KNOWN),
    )
    reader.check_document_id(message_header)
    return DocumentPackage(
        header=message_header,
        trace_header_list=reader.trace_header_list(edxml_header),
        attachments=reader.attachments(root, envelope),
        signature=reader.signature(edxml_header),
        notes=tuple(reader.notes),
    )


def _read_status(header: _Element, reader: _Reader) -> StatusPackage:
    sender = reader.sender(header)
    response_for = reader.response_for(header)
    if not response_for:
        raise EdxmlError(EdxmlErrorCode.INVALID_PACKAGE, "status package without ResponseFor")
    raw_code = reader.text(header, "StatusCode") or ""
    if re.fullmatch(r"\d", raw_code):
        reader.note(NoteCode.STATUS_CODE_PADDED, f"StatusCode {raw_code!r} read as '0{raw_code}'")
        raw_code = "0" + raw_code
    if not re.fullmatch(r"\d{2,3}", raw_code):
        raise EdxmlError(EdxmlErrorCode.INVALID_PACKAGE, f"invalid StatusCode {raw_code[:20]!r}")
    if raw_code not in {code.value for code in StatusCode}:
        reader.note(NoteCode.UNKNOWN_STATUS_CODE, f"StatusCode {raw_code!r} is not a known QCVN 102 code")
    return StatusPackage(
        sender=sender,
        response_for=response_for,
        staff_info=reader.staff_info(header),
        status_code=raw_code,
        description=reader.text(header, "Description"),
        timestamp=reader.timestamp(header, "Timestamp", "MessageHeader"),
        extensions=reader.extensions(header, _STATUS_HEADER_KNOWN),
        notes=tuple(reader.notes),
    )


def _load(
    data: bytes, limits: ParseLimits | None, caller: str
) -> tuple[_Reader, _Element, tuple[_Element, _Element, _Element]]:
    """Untrusted bytes loaded safely: the reader (and its notes), the root and the edXML structure."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"{caller} expects bytes")
    reader = _Reader(limits or DEFAULT_LIMITS, [])
    root = load_xml(bytes(data), reader.limits, reader.notes)
    return reader, root, _structure(root, reader)


def parse_package(data: bytes, *, limits: ParseLimits | None = None) -> DocumentPackage | StatusPackage:
    """Parse an edXML package, document or status, from untrusted bytes.

    A package whose ``MessageHeader`` has a ``StatusCode`` is a status package; any other is a
    document package.

    Args:
        data: The raw ``.edxml`` bytes.
        limits: Caps to apply; :data:`~common.edxml.safexml.DEFAULT_LIMITS` when omitted.

    Returns:
        The package; its ``notes`` list what was accepted or normalised.

    Raises:
        EdxmlError: With code ``too_large``, ``too_complex``, ``forbidden_dtd``, ``malformed``,
            ``not_edxml`` or ``invalid_package``. No other exception escapes for any input bytes.
        TypeError: ``data`` is not bytes-like.
    """
    reader, root, (envelope, edxml_header, message_header) = _load(data, limits, "parse_package")
    try:
        if _child(message_header, "StatusCode") is not None:
            return _read_status(message_header, reader)
        return _read_document(root, envelope, edxml_header, message_header, reader)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.error_count() else {"loc": (), "msg": str(exc)}
        location = ".".join(str(part) for part in first["loc"])
        raise EdxmlError(
            EdxmlErrorCode.INVALID_PACKAGE, f"unusable value at {location or 'package'}: {first['msg']}"
        ) from exc


def status_routing(data: bytes, *, limits: ParseLimits | None = None) -> tuple[str, ...] | None:
    """The organ ids a status package answers (its ``ResponseFor/OrganId``, in order, once each),
    read without building the package: what an exchange needs to route one, thousands at a time.
    None for a document package.

    The bytes are loaded as safely as :func:`parse_package` does and must have the edXML structure
    and a ``StatusCode`` of two or three digits (one, zero-padded, as there); the rest of the
    package is not checked here — its recipient parses it.

    Raises:
        EdxmlError: As :func:`parse_package`, for bytes that are not an edXML package.
        TypeError: ``data`` is not bytes-like.
    """
    reader, _root, (_envelope, _edxml_header, header) = _load(data, limits, "status_routing")
    code = _child(header, "StatusCode")
    if code is None:
        return None
    if not re.fullmatch(r"\d{1,3}", _text_of(code) or ""):
        raise EdxmlError(EdxmlErrorCode.INVALID_PACKAGE, f"invalid StatusCode {(_text_of(code) or '')[:20]!r}")
    organs = (reader.text(element, "OrganId") for element in _children(header, "ResponseFor"))
    return tuple(dict.fromkeys(organ for organ in organs if organ))


def parse_document_package(data: bytes, *, limits: ParseLimits | None = None) -> DocumentPackage:
    """Parse an edXML document package (văn bản), refusing a status package.

    Args:
        data: The raw ``.edxml`` bytes.
        limits: Caps to apply; defaults when omitted.

    Returns:
        The document package.

    Raises:
        EdxmlError: As :func:`parse_package`, or ``unexpected_package_type`` for a status package.
    """
    package = parse_package(data, limits=limits)
    if not isinstance(package, DocumentPackage):
        raise EdxmlError(EdxmlErrorCode.UNEXPECTED_PACKAGE_TYPE, "expected a document package, got a status package")
    return package


def parse_status_package(data: bytes, *, limits: ParseLimits | None = None) -> StatusPackage:
    """Parse an edXML status package, refusing a document package.

    Args:
        data: The raw ``.edxml`` bytes.
        limits: Caps to apply; defaults when omitted.

    Returns:
        The status package.

    Raises:
        EdxmlError: As :func:`parse_package`, or ``unexpected_package_type`` for a document package.
    """
    package = parse_package(data, limits=limits)
    if not isinstance(package, StatusPackage):
        raise EdxmlError(EdxmlErrorCode.UNEXPECTED_PACKAGE_TYPE, "expected a status package, got a document package")
    return package
