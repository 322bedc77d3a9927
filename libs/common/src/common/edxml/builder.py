"""Writing edXML (QCVN 102:2016) document and status packages.

The output has the layout of the published VNPT samples: root ``<edXML>`` in the default
namespace, ``edXML:`` prefix declared on ``edXMLEnvelope`` and used inside it, the
``AttachmentEncoded`` block after the envelope with a prefixed ``ContentTransferEncoded``
(base64 on one line), UTF-8 with a double-quoted XML declaration.

The builder never writes a ``Signature``: XML-DSig signing of the output is a separate step.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from datetime import date, datetime

from lxml import etree

from common.edxml.errors import EdxmlError, EdxmlErrorCode
from common.edxml.formats import format_date, format_timestamp, make_document_id, now_vietnam
from common.edxml.models import (
    EDXML_NAMESPACE,
    STATUS_DESCRIPTIONS,
    Attachment,
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    DocumentPackage,
    MessageHeader,
    Organization,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    StaffInfo,
    StatusCode,
    StatusPackage,
    TraceHeader,
    TraceHeaderList,
    XmlExtension,
)

_Element = etree._Element
_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

REASON_NEW = "Văn bản điện tử mới"
REASON_REVOKE = "Thu hồi văn bản điện tử"
REASON_UPDATE = "Cập nhật văn bản điện tử"
REASON_REPLACE = "Văn bản thay thế"


def _q(name: str) -> str:
    return f"{{{EDXML_NAMESPACE}}}{name}"


def _sub(parent: _Element, name: str, text: str | None = None) -> _Element:
    element = etree.SubElement(parent, _q(name))
    if text is not None:
        element.text = text
    return element


def _opt(parent: _Element, name: str, value: str | int | date | None) -> None:
    if value is None:
        return
    if isinstance(value, datetime):
        _sub(parent, name, format_timestamp(value))
    elif isinstance(value, date):
        _sub(parent, name, format_date(value))
    else:
        _sub(parent, name, str(value))


def _invalid(message: str) -> EdxmlError:
    return EdxmlError(EdxmlErrorCode.INVALID_PACKAGE, message)


def _write_organization(parent: _Element, name: str, organization: Organization) -> None:
    element = _sub(parent, name)
    _sub(element, "OrganId", organization.organ_id)
    _sub(element, "OrganizationInCharge", organization.organization_in_charge)
    _sub(element, "OrganName", organization.organ_name)
    _sub(element, "OrganAdd", organization.organ_add)
    _sub(element, "Email", organization.email)
    _sub(element, "Telephone", organization.telephone)
    _sub(element, "Fax", organization.fax)
    _sub(element, "Website", organization.website)


def _write_response_for(parent: _Element, items: Sequence[ResponseFor]) -> None:
    for item in items:
        element = _sub(parent, "ResponseFor")
        _sub(element, "OrganId", item.organ_id)
        _sub(element, "Code", item.code)
        _opt(element, "PromulgationDate", item.promulgation_date)
        _sub(element, "DocumentId", item.document_id)


def _write_staff_info(parent: _Element, staff: StaffInfo | None) -> None:
    if staff is None:
        return
    element = _sub(parent, "StaffInfo")
    _sub(element, "Department", staff.department)
    _sub(element, "Staff", staff.staff)
    _sub(element, "Email", staff.email)
    _sub(element, "Mobile", staff.mobile)


def _write_extensions(parent: _Element, extensions: Sequence[XmlExtension]) -> None:
    for extension in extensions:
        namespace = extension.namespace or EDXML_NAMESPACE
        element = etree.SubElement(parent, f"{{{namespace}}}{extension.name}")
        for key, value in extension.attributes:
            element.set(key, value)
        if extension.text is not None:
            element.text = extension.text
        _write_extensions(element, extension.children)


def _write_header(parent: _Element, header: MessageHeader, document_id: str) -> None:
    if header.code is None:
        raise _invalid("Code is required")
    if header.promulgation_info is None or header.promulgation_info.promulgation_date is None:
        raise _invalid("PromulgationInfo/PromulgationDate is required")
    if header.document_type is None:
        raise _invalid("DocumentType is required")
    if header.subject is None:
        raise _invalid("Subject is required")
    if not header.recipients:
        raise _invalid("at least one To is required")
    element = _sub(parent, "MessageHeader")
    _write_organization(element, "From", header.sender)
    for recipient in header.recipients:
        _write_organization(element, "To", recipient)
    _sub(element, "DocumentId", document_id)
    code = _sub(element, "Code")
    _sub(code, "CodeNumber", header.code.code_number)
    _sub(code, "CodeNotation", header.code.code_notation)
    promulgation = _sub(element, "PromulgationInfo")
    _sub(promulgation, "Place", header.promulgation_info.place)
    _opt(promulgation, "PromulgationDate", header.promulgation_info.promulgation_date)
    document_type = _sub(element, "DocumentType")
    _opt(document_type, "Type", header.document_type.type)
    _opt(document_type, "TypeDetail", header.document_type.type_detail)
    _sub(document_type, "TypeName", header.document_type.type_name)
    _sub(element, "Subject", header.subject)
    _opt(element, "Content", header.content)
    if header.signer_info is not None:
        signer = _sub(element, "SignerInfo")
        _sub(signer, "Competence", header.signer_info.competence)
        _sub(signer, "Position", header.signer_info.position)
        _sub(signer, "FullName", header.signer_info.full_name)
    _opt(element, "DueDate", header.due_date)
    other = header.other_info
    if other is not None:
        other_element = _sub(element, "OtherInfo")
        _opt(other_element, "Priority", other.priority)
        _opt(other_element, "SphereOfPromulgation", other.sphere_of_promulgation)
        _opt(other_element, "TyperNotation", other.typer_notation)
        _opt(other_element, "PromulgationAmount", other.promulgation_amount)
        _opt(other_element, "PageAmount", other.page_amount)
        if other.direction is not None:
            _sub(other_element, "Direction", "true" if other.direction else "false")
        if other.appendixes:
            appendixes = _sub(other_element, "Appendixes")
            for appendix in other.appendixes:
                _sub(appendixes, "Appendix", appendix)
        _write_extensions(other_element, other.extensions)
    _write_response_for(element, header.response_for)
    _opt(element, "SteeringType", header.steering_type)
    if header.to_places:
        places = _sub(element, "ToPlaces")
        for place in header.to_places:
            _sub(places, "Place", place)
    _write_extensions(element, header.extensions)


def _write_business(parent: _Element, business: Business) -> None:
    element = _sub(parent, "Bussiness")
    _opt(element, "DocumentId", business.document_id)
    _sub(element, "BussinessDocType", str(business.business_doc_type.value))
    _opt(element, "BussinessDocReason", business.business_doc_reason)
    _opt(element, "Paper", business.paper)
    info = business.business_document_info
    if info is not None:
        info_element = _sub(element, "BussinessDocumentInfo")
        _opt(info_element, "DocumentInfo", info.document_info)
        _opt(info_element, "DocumentReceiver", info.document_receiver)
        if info.receivers:
            receivers = _sub(info_element, "ReceiverList")
            for receiver in info.receivers:
                receiver_element = _sub(receivers, "Receiver")
                _sub(receiver_element, "OrganId", receiver.organ_id)
                _opt(receiver_element, "ReceiverType", receiver.receiver_type)
    if business.replacement_info_list:
        replacements = _sub(element, "ReplacementInfoList")
        for replacement in business.replacement_info_list:
            replacement_element = _sub(replacements, "ReplacementInfo")
            _sub(replacement_element, "DocumentId", replacement.document_id)
            organ_ids = _sub(replacement_element, "OrganIdList")
            for organ_id in replacement.organ_ids:
                _sub(organ_ids, "OrganId", organ_id)
    _write_staff_info(element, business.staff_info)
    _write_extensions(element, business.extensions)


def _write_attachments(root: _Element, envelope: _Element, attachments: Sequence[Attachment]) -> None:
    manifest = _sub(_sub(envelope, "edXMLBody"), "edXMLManifest")
    manifest.set("version", "1.0")
    seen: set[str] = set()
    for attachment in attachments:
        if attachment.content is None:
            raise _invalid(f"attachment {attachment.content_id!r} has no content")
        if attachment.content_id in seen:
            raise _invalid(f"duplicate attachment ContentId {attachment.content_id!r}")
        seen.add(attachment.content_id)
        reference = _sub(manifest, "Reference")
        _sub(reference, "ContentId", f"cid:{attachment.content_id}")
        _opt(reference, "ContentType", attachment.content_type)
        _opt(reference, "Description", attachment.description)
        _sub(reference, "AttachmentName", attachment.attachment_name)
    if not attachments:
        return
    encoded = _sub(root, "AttachmentEncoded")
    for attachment in attachments:
        assert attachment.content is not None
        item = _sub(encoded, "Attachment")
        _sub(item, "ContentId", f"cid:{attachment.content_id}")
        _sub(item, "AttachmentName", attachment.attachment_name)
        _opt(item, "Description", attachment.description)
        _opt(item, "ContentType", attachment.content_type)
        payload = etree.SubElement(item, _q("ContentTransferEncoded"), nsmap={"edXML": EDXML_NAMESPACE})
        payload.text = base64.b64encode(attachment.content).decode("ascii")


def _envelope() -> tuple[_Element, _Element, _Element]:
    # lxml-stubs do not admit the None key that declares the default namespace.
    root = etree.Element(_q("edXML"), nsmap={None: EDXML_NAMESPACE})  # type: ignore[dict-item]
    envelope = etree.SubElement(root, _q("edXMLEnvelope"), nsmap={"edXML": EDXML_NAMESPACE})
    header = _sub(envelope, "edXMLHeader")
    return root, envelope, header


def _serialize(root: _Element) -> bytes:
    return _XML_DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)


def document_id_of(package: DocumentPackage) -> str:
    """Return the package's DocumentId, derived by the QCVN 102 rule when it has none.

    Args:
        package: A document package.

    Returns:
        ``MessageHeader/DocumentId`` if set, else ``OrganId,yyyy/MM/dd,<số>/<ký hiệu>`` from
        ``From/OrganId``, ``PromulgationDate`` and ``Code``.

    Raises:
        EdxmlError: ``invalid_package`` if the id is unset and cannot be derived.
    """
    header = package.header
    if header.document_id is not None:
        return header.document_id
    if header.code is None or header.promulgation_info is None or header.promulgation_info.promulgation_date is None:
        raise _invalid("DocumentId is unset and Code/PromulgationDate are missing to derive it")
    return make_document_id(
        header.sender.organ_id,
        header.promulgation_info.promulgation_date,
        header.code.code_number,
        header.code.code_notation,
    )


def build_document_package(package: DocumentPackage) -> bytes:
    """Serialise a document package to edXML bytes.

    An unset ``DocumentId`` is derived by the QCVN 102 rule (see :func:`document_id_of`).
    ``signature`` and ``notes`` are not written.

    Args:
        package: The package. Required: ``From``, at least one ``To``, ``Code``,
            ``PromulgationDate``, ``DocumentType``, ``Subject``; every attachment with content.

    Returns:
        UTF-8 XML bytes.

    Raises:
        EdxmlError: ``invalid_package`` (or ``invalid_document_id``) when required parts are
            missing or a value cannot be written.
    """
    document_id = document_id_of(package)
    root, envelope, header = _envelope()
    try:
        _write_header(header, package.header, document_id)
        trace = package.trace_header_list
        if trace.trace_headers or trace.business is not None:
            trace_element = _sub(header, "TraceHeaderList")
            for hop in trace.trace_headers:
                hop_element = _sub(trace_element, "TraceHeader")
                _sub(hop_element, "OrganId", hop.organ_id)
                _opt(hop_element, "Timestamp", hop.timestamp)
            if trace.business is not None:
                _write_business(trace_element, trace.business)
        _write_attachments(root, envelope, package.attachments)
    except ValueError as exc:
        raise _invalid(f"cannot write package: {exc}") from exc
    return _serialize(root)


def build_status_package(package: StatusPackage) -> bytes:
    """Serialise a status package to edXML bytes.

    Args:
        package: The status package (``timestamp`` required).

    Returns:
        UTF-8 XML bytes.

    Raises:
        EdxmlError: ``invalid_package`` when the timestamp is missing or a value cannot be written.
    """
    if package.timestamp is None:
        raise _invalid("status package needs a Timestamp")
    root, _, header = _envelope()
    try:
        element = _sub(header, "MessageHeader")
        _write_organization(element, "From", package.sender)
        _write_response_for(element, package.response_for)
        _write_staff_info(element, package.staff_info)
        _sub(element, "StatusCode", package.status_code)
        _opt(element, "Description", package.description)
        _opt(element, "Timestamp", package.timestamp)
        _write_extensions(element, package.extensions)
    except ValueError as exc:
        raise _invalid(f"cannot write package: {exc}") from exc
    return _serialize(root)


def response_for_document(package: DocumentPackage) -> ResponseFor:
    """Make the ``ResponseFor`` that refers to a document package.

    Args:
        package: The document referred to.

    Returns:
        ``ResponseFor`` with the sender's OrganId, the code text, the promulgation date and the
        DocumentId of ``package``.

    Raises:
        EdxmlError: ``invalid_package`` if the package has no DocumentId and none can be derived.
    """
    header = package.header
    return ResponseFor(
        organ_id=header.sender.organ_id,
        code=header.code.text if header.code else None,
        promulgation_date=header.promulgation_info.promulgation_date if header.promulgation_info else None,
        document_id=document_id_of(package),
    )


def _with_business(
    package: DocumentPackage,
    business: Business,
    *,
    timestamp: datetime | None,
    attachments: Sequence[Attachment],
) -> DocumentPackage:
    header = package.header.model_copy(update={"document_id": document_id_of(package)})
    hop = TraceHeader(organ_id=header.sender.organ_id, timestamp=timestamp or now_vietnam())
    return DocumentPackage(
        header=header,
        trace_header_list=TraceHeaderList(trace_headers=(hop,), business=business),
        attachments=tuple(attachments),
    )


def make_document_package(
    header: MessageHeader,
    *,
    attachments: Sequence[Attachment] = (),
    staff_info: StaffInfo | None = None,
    timestamp: datetime | None = None,
    reason: str = REASON_NEW,
    paper: int = 0,
) -> DocumentPackage:
    """Assemble a new-document package (``BussinessDocType`` 0).

    Args:
        header: The message header; an unset DocumentId is derived by the QCVN 102 rule.
        attachments: Files to send (normally the signed PDF).
        staff_info: The clerk sending it.
        timestamp: Time of the trace hop; now (Vietnam time) when omitted.
        reason: ``BussinessDocReason``.
        paper: ``Paper`` (0 = no paper copy follows).

    Returns:
        The package, ready for :func:`build_document_package`.

    Raises:
        EdxmlError: ``invalid_package`` if the DocumentId cannot be derived.
    """
    package = DocumentPackage(header=header)
    business = Business(
        business_doc_type=BusinessDocType.NEW, business_doc_reason=reason, paper=paper, staff_info=staff_info
    )
    return _with_business(package, business, timestamp=timestamp, attachments=attachments)


def make_revocation_package(
    original: DocumentPackage,
    *,
    reason: str = REASON_REVOKE,
    staff_info: StaffInfo | None = None,
    timestamp: datetime | None = None,
    keep_attachments: bool = False,
) -> DocumentPackage:
    """Assemble the package that revokes (thu hồi) a document sent earlier (``BussinessDocType`` 1).

    Like the VNPT sample, the package repeats the original header (same DocumentId); the
    ``Bussiness/DocumentId`` names the revoked document too.

    Args:
        original: The document package being revoked.
        reason: ``BussinessDocReason``.
        staff_info: The clerk revoking it.
        timestamp: Time of the trace hop; now when omitted.
        keep_attachments: Repeat the original attachments (the sample does; not needed).

    Returns:
        The revocation package.

    Raises:
        EdxmlError: ``invalid_package`` if the original has no DocumentId and none can be derived.
    """
    business = Business(
        document_id=document_id_of(original),
        business_doc_type=BusinessDocType.REVOKE,
        business_doc_reason=reason,
        paper=0,
        staff_info=staff_info,
    )
    attachments = original.attachments if keep_attachments else ()
    return _with_business(original, business, timestamp=timestamp, attachments=attachments)


def make_update_package(
    updated: DocumentPackage,
    *,
    metadata_changed: bool,
    added_recipients: Sequence[str] = (),
    removed_recipients: Sequence[str] = (),
    reason: str = REASON_UPDATE,
    staff_info: StaffInfo | None = None,
    timestamp: datetime | None = None,
    original: DocumentPackage | None = None,
) -> DocumentPackage:
    """Assemble the package that updates a document sent earlier (``BussinessDocType`` 2).

    Args:
        updated: The document with its corrected header (same DocumentId as the original) and
            the attachments to send; or, with ``original``, the correcting document (đính chính)
            with its own number.
        metadata_changed: ``DocumentInfo`` = 1 when header data changed.
        added_recipients: OrganIds added to the recipients (``ReceiverType`` 1).
        removed_recipients: OrganIds removed from the recipients (``ReceiverType`` 0).
        reason: ``BussinessDocReason``.
        staff_info: The clerk.
        timestamp: Time of the trace hop; now when omitted.
        original: The document being updated, when ``updated`` has a DocumentId of its own:
            ``Bussiness/DocumentId`` names it, and a ``ReplacementInfo`` lists it with its
            recipients' organ ids.

    Returns:
        The update package.

    Raises:
        EdxmlError: ``invalid_package`` if the document has no DocumentId and none can be derived.
    """
    receivers = tuple(Receiver(organ_id=o, receiver_type=0) for o in removed_recipients) + tuple(
        Receiver(organ_id=o, receiver_type=1) for o in added_recipients
    )
    replaced = (
        (
            ReplacementInfo(
                document_id=document_id_of(original), organ_ids=tuple(r.organ_id for r in original.header.recipients)
            ),
        )
        if original is not None
        else ()
    )
    business = Business(
        document_id=document_id_of(original if original is not None else updated),
        business_doc_type=BusinessDocType.UPDATE,
        business_doc_reason=reason,
        paper=0,
        business_document_info=BusinessDocumentInfo(
            document_info=1 if metadata_changed else 0,
            document_receiver=1 if receivers else 0,
            receivers=receivers,
        ),
        replacement_info_list=replaced,
        staff_info=staff_info,
    )
    return _with_business(updated, business, timestamp=timestamp, attachments=updated.attachments)


def make_replacement_package(
    replacement: DocumentPackage,
    replaced: Sequence[DocumentPackage | ReplacementInfo],
    *,
    reason: str = REASON_REPLACE,
    staff_info: StaffInfo | None = None,
    timestamp: datetime | None = None,
) -> DocumentPackage:
    """Assemble the package of a document that replaces earlier ones (``BussinessDocType`` 3).

    Args:
        replacement: The new document (its own DocumentId, attachments).
        replaced: The replaced documents, as packages (their DocumentId and recipients are used)
            or as explicit :class:`ReplacementInfo`.
        reason: ``BussinessDocReason``.
        staff_info: The clerk.
        timestamp: Time of the trace hop; now when omitted.

    Returns:
        The replacement package.

    Raises:
        EdxmlError: ``invalid_package`` if ``replaced`` is empty or a DocumentId cannot be derived.
    """
    if not replaced:
        raise _invalid("a replacement package must name at least one replaced document")
    infos = tuple(
        item
        if isinstance(item, ReplacementInfo)
        else ReplacementInfo(
            document_id=document_id_of(item), organ_ids=tuple(r.organ_id for r in item.header.recipients)
        )
        for item in replaced
    )
    business = Business(
        business_doc_type=BusinessDocType.REPLACE,
        business_doc_reason=reason,
        paper=0,
        replacement_info_list=infos,
        staff_info=staff_info,
    )
    return _with_business(replacement, business, timestamp=timestamp, attachments=replacement.attachments)


def build_revocation_package(
    original: DocumentPackage,
    *,
    reason: str = REASON_REVOKE,
    staff_info: StaffInfo | None = None,
    timestamp: datetime | None = None,
    keep_attachments: bool = False,
) -> bytes:
    """Build the edXML bytes revoking ``original`` (see :func:`make_revocation_package`).

    Args:
        original: The document package being revoked.
        reason: ``BussinessDocReason``.
        staff_info: The clerk revoking it.
        timestamp: Time of the trace hop; now when omitted.
        keep_attachments: Repeat the original attachments.

    Returns:
        UTF-8 XML bytes.

    Raises:
        EdxmlError: ``invalid_package`` as :func:`build_document_package`.
    """
    return build_document_package(
        make_revocation_package(
            original, reason=reason, staff_info=staff_info, timestamp=timestamp, keep_attachments=keep_attachments
        )
    )


def build_replacement_package(
    replacement: DocumentPackage,
    replaced: Sequence[DocumentPackage | ReplacementInfo],
    *,
    reason: str = REASON_REPLACE,
    staff_info: StaffInfo | None = None,
    timestamp: datetime | None = None,
) -> bytes:
    """Build the edXML bytes of a replacing document (see :func:`make_replacement_package`).

    Args:
        replacement: The new document.
        replaced: The replaced documents.
        reason: ``BussinessDocReason``.
        staff_info: The clerk.
        timestamp: Time of the trace hop; now when omitted.

    Returns:
        UTF-8 XML bytes.

    Raises:
        EdxmlError: ``invalid_package`` as :func:`make_replacement_package` and
            :func:`build_document_package`.
    """
    return build_document_package(
        make_replacement_package(replacement, replaced, reason=reason, staff_info=staff_info, timestamp=timestamp)
    )


def make_status_package(
    *,
    sender: Organization,
    document: DocumentPackage | ResponseFor,
    status_code: StatusCode | str,
    description: str | None = None,
    staff_info: StaffInfo | None = None,
    timestamp: datetime | None = None,
) -> StatusPackage:
    """Assemble a status package about a received document.

    Args:
        sender: The organisation reporting the status (the receiver of the document).
        document: The document (package or ready ``ResponseFor``) the status is about.
        status_code: e.g. ``StatusCode.ACCEPTANCE`` or ``"03"``.
        description: ``Description``; the standard wording of a known code when omitted.
        staff_info: The clerk.
        timestamp: ``Timestamp``; now (Vietnam time) when omitted.

    Returns:
        The status package, ready for :func:`build_status_package`.

    Raises:
        EdxmlError: ``invalid_package`` if the code is not 2-3 digits or the document's DocumentId
            cannot be derived.
    """
    code = str(status_code.value if isinstance(status_code, StatusCode) else status_code)
    if not re.fullmatch(r"\d{2,3}", code):
        raise _invalid(f"invalid status code {code[:20]!r}")
    if description is None:
        known = {c.value: c for c in StatusCode}.get(code)
        description = STATUS_DESCRIPTIONS[known] if known is not None else None
    target = document if isinstance(document, ResponseFor) else response_for_document(document)
    return StatusPackage(
        sender=sender,
        response_for=(target,),
        staff_info=staff_info,
        status_code=code,
        description=description,
        timestamp=timestamp or now_vietnam(),
    )
