"""Packages we build parse back identically and have the structure of the published samples."""

from __future__ import annotations

import os
import re
import unicodedata
from datetime import date, datetime
from pathlib import Path

import pytest
from lxml import etree
from pydantic import ValidationError

from common.edxml import (
    EDXML_NAMESPACE,
    Attachment,
    BusinessDocType,
    Code,
    DocumentPackage,
    DocumentType,
    EdxmlError,
    EdxmlErrorCode,
    MessageHeader,
    Organization,
    PromulgationInfo,
    ReplacementInfo,
    ResponseFor,
    StatusCode,
    StatusPackage,
    XmlExtension,
    build_document_package,
    build_replacement_package,
    build_revocation_package,
    build_status_package,
    document_id_of,
    make_document_package,
    make_replacement_package,
    make_revocation_package,
    make_status_package,
    make_update_package,
    parse_document_package,
    parse_status_package,
    response_for_document,
)

SAMPLES = Path(__file__).parent / "samples"
T0 = datetime(2025, 11, 5, 9, 30, 12)


def _paths(data: bytes) -> set[str]:
    """Element paths of a package, with prefixes as written (e.g. ``edXML/edXML:edXMLEnvelope``)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, recover=True)
    root = etree.fromstring(data[data.index(b"<") :], parser)
    paths: set[str] = set()

    def walk(element: etree._Element, prefix: str) -> None:
        if not isinstance(element.tag, str):
            return
        name = element.tag.rpartition("}")[2]  # unbound prefixes (edoc.edxml) stay in the raw name
        qualified = f"{element.prefix}:{name}" if element.prefix else name
        path = f"{prefix}/{qualified}" if prefix else qualified
        paths.add(path)
        for child in element:
            walk(child, path)

    walk(root, "")
    return paths


def _strip_extensions(package: DocumentPackage) -> DocumentPackage:
    header = package.header
    assert header.other_info is not None
    return package.model_copy(
        update={
            "header": header.model_copy(
                update={"extensions": (), "other_info": header.other_info.model_copy(update={"extensions": ()})}
            )
        }
    )


# --- round trips -----------------------------------------------------------------------------


def test_document_round_trip_is_identical(document: DocumentPackage, pdf_bytes: bytes) -> None:
    data = build_document_package(document)
    parsed = parse_document_package(data)
    assert parsed.notes == ()
    assert parsed == document
    assert parsed.model_dump() == document.model_dump()
    assert parsed.attachments[0].content == pdf_bytes
    assert pdf_bytes.startswith(b"%PDF-1.7")


def test_vietnamese_text_is_nfc_in_model_output_and_parse(document: DocumentPackage) -> None:
    decomposed = unicodedata.normalize("NFD", "V/v báo cáo tình hình thực hiện Nghị quyết")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    header = MessageHeader.model_validate({**document.header.model_dump(), "subject": decomposed})
    assert header.subject == unicodedata.normalize("NFC", decomposed)
    package = document.model_copy(update={"header": header})
    data = build_document_package(package)
    assert unicodedata.normalize("NFC", decomposed).encode() in data
    assert decomposed.encode() not in data
    parsed = parse_document_package(data)
    assert parsed.header.subject == "V/v báo cáo tình hình thực hiện Nghị quyết"
    assert parsed == package


def test_parser_normalises_nfd_input_to_nfc(document: DocumentPackage) -> None:
    data = build_document_package(document).decode("utf-8")
    nfd = data.replace("Công văn", unicodedata.normalize("NFD", "Công văn")).encode("utf-8")
    assert nfd != data.encode("utf-8")
    parsed = parse_document_package(nfd)
    assert parsed.header.document_type is not None
    assert parsed.header.document_type.type_name == "Công văn"


def test_large_attachment_round_trip() -> None:
    payload = os.urandom(9 * 1024 * 1024)  # base64 text node > libxml2's default 10 MB cap
    header = MessageHeader(
        sender=Organization(organ_id="000.00.00.H13"),
        recipients=(Organization(organ_id="000.00.01.H13"),),
        code=Code(code_number="1", code_notation="UBND-VP"),
        promulgation_info=PromulgationInfo(promulgation_date=date(2025, 1, 2)),
        document_type=DocumentType(type=1, type_name="Công văn"),
        subject="Tệp lớn",
    )
    package = make_document_package(
        header,
        attachments=(Attachment(content_id="big", attachment_name="scan.pdf", content=payload),),
        timestamp=T0,
    )
    parsed = parse_document_package(build_document_package(package))
    assert parsed.attachments[0].content == payload


def test_extension_elements_round_trip_including_foreign_namespace(document: DocumentPackage) -> None:
    foreign = XmlExtension(
        name="ApplicationType",
        namespace="urn:example:vendor",
        text="eOffice",
        attributes=(("{urn:example:vendor}version", "2"),),
    )
    header = document.header.model_copy(update={"extensions": (*document.header.extensions, foreign)})
    package = document.model_copy(update={"header": header})
    parsed = parse_document_package(build_document_package(package))
    assert parsed.header.extensions == header.extensions
    assert parsed.header.other_info == document.header.other_info


# --- output structure --------------------------------------------------------------------------


def test_output_layout_matches_the_samples(document: DocumentPackage) -> None:
    data = build_document_package(document)
    text = data.decode("utf-8")
    assert text.startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
    )
    assert '<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">' in text
    assert "<edXML:BussinessDocType>0</edXML:BussinessDocType>" in text
    assert "<edXML:DocumentId>000.00.00.H13,2025/11/05,123/VPUB-TTĐH</edXML:DocumentId>" in text
    assert "<edXML:PromulgationDate>2025/11/05</edXML:PromulgationDate>" in text
    assert "<edXML:Timestamp>2025/11/05 09:30:12</edXML:Timestamp>" in text
    assert "<edXML:ContentId>cid:cv-123-2025</edXML:ContentId>" in text
    assert "<ContentId>cid:cv-123-2025</ContentId>" in text
    payload = re.search(
        r'<edXML:ContentTransferEncoded xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">([^<]*)<', text
    )
    assert payload is not None
    assert re.fullmatch(r"[A-Za-z0-9+/]+=*", payload.group(1))  # base64 on one line

    root = etree.fromstring(data)
    assert root.nsmap == {None: EDXML_NAMESPACE}
    header = root.find(
        f"{{{EDXML_NAMESPACE}}}edXMLEnvelope/{{{EDXML_NAMESPACE}}}edXMLHeader/{{{EDXML_NAMESPACE}}}MessageHeader"
    )
    assert header is not None
    order = [etree.QName(child).localname for child in header]
    assert order == [
        "From", "To", "To", "DocumentId", "Code", "PromulgationInfo", "DocumentType", "Subject", "Content",
        "SignerInfo", "DueDate", "OtherInfo", "ResponseFor", "ResponseFor", "SteeringType", "ToPlaces",
        "ResponseForTask",
    ]  # fmt: skip


def test_every_element_we_write_appears_in_a_sample(document: DocumentPackage) -> None:
    sample_paths: set[str] = set()
    for path in SAMPLES.glob("*.edxml"):
        sample_paths |= _paths(path.read_bytes())
    ours = _paths(build_document_package(_strip_extensions(document)))
    assert ours - sample_paths == set()
    status = make_status_package(
        sender=document.header.recipients[0], document=document, status_code="03", timestamp=T0
    )
    assert _paths(build_status_package(status)) - sample_paths == set()


# --- helpers: new, revoke, update, replace -------------------------------------------------------------


def test_make_document_package_derives_the_document_id(document: DocumentPackage) -> None:
    header = document.header.model_copy(update={"document_id": None})
    package = make_document_package(header, attachments=document.attachments, timestamp=T0)
    assert package.document_id == "000.00.00.H13,2025/11/05,123/VPUB-TTĐH"
    assert package.business_doc_type is BusinessDocType.NEW
    assert package.trace_header_list.trace_headers[0].organ_id == "000.00.00.H13"
    assert package.trace_header_list.trace_headers[0].timestamp == T0
    business = package.trace_header_list.business
    assert business is not None
    assert (business.business_doc_reason, business.paper) == ("Văn bản điện tử mới", 0)
    assert parse_document_package(build_document_package(package)) == package
    # the builder derives an unset id the same way
    bare = DocumentPackage(header=header)
    assert document_id_of(bare) == package.document_id
    assert b"000.00.00.H13,2025/11/05,123/VPUB-T" in build_document_package(bare)


def test_revocation_package(document: DocumentPackage) -> None:
    revocation = make_revocation_package(document, timestamp=T0)
    assert revocation.business_doc_type is BusinessDocType.REVOKE
    business = revocation.trace_header_list.business
    assert business is not None
    assert business.document_id == document.document_id
    assert business.business_doc_reason == "Thu hồi văn bản điện tử"
    assert revocation.header == document.header
    assert revocation.attachments == ()
    parsed = parse_document_package(build_document_package(revocation))
    assert parsed == revocation
    data = build_revocation_package(document, timestamp=T0, keep_attachments=True)
    assert b"<edXML:BussinessDocType>1</edXML:BussinessDocType>" in data
    reparsed = parse_document_package(data)
    assert reparsed.business_doc_type is BusinessDocType.REVOKE
    assert reparsed.attachments == document.attachments


def test_replacement_package(document: DocumentPackage) -> None:
    new_header = document.header.model_copy(
        update={"document_id": None, "code": Code(code_number="130", code_notation="VPUB-TTĐH")}
    )
    replacement = make_document_package(new_header, attachments=document.attachments, timestamp=T0)
    package = make_replacement_package(replacement, [document], timestamp=T0)
    assert package.business_doc_type is BusinessDocType.REPLACE
    business = package.trace_header_list.business
    assert business is not None
    assert business.replacement_info_list == (
        ReplacementInfo(
            document_id="000.00.00.H13,2025/11/05,123/VPUB-TTĐH", organ_ids=("000.00.01.H13", "000.00.02.H13")
        ),
    )
    assert package.document_id == "000.00.00.H13,2025/11/05,130/VPUB-TTĐH"
    assert parse_document_package(build_document_package(package)) == package
    explicit = ReplacementInfo(document_id="000.00.00.H13,2025/10/01,99/VPUB-TTĐH", organ_ids=("000.00.01.H13",))
    data = build_replacement_package(replacement, [explicit, document], timestamp=T0)
    reparsed = parse_document_package(data)
    assert reparsed.business_doc_type is BusinessDocType.REPLACE
    assert reparsed.trace_header_list.business is not None
    assert [r.document_id for r in reparsed.trace_header_list.business.replacement_info_list] == [
        "000.00.00.H13,2025/10/01,99/VPUB-TTĐH",
        "000.00.00.H13,2025/11/05,123/VPUB-TTĐH",
    ]
    with pytest.raises(EdxmlError) as caught:
        make_replacement_package(replacement, [])
    assert caught.value.code is EdxmlErrorCode.INVALID_PACKAGE


def test_update_package(document: DocumentPackage) -> None:
    package = make_update_package(
        document, metadata_changed=True, added_recipients=["000.00.03.H13"], removed_recipients=["000.00.02.H13"]
    )
    assert package.business_doc_type is BusinessDocType.UPDATE
    parsed = parse_document_package(build_document_package(package))
    assert parsed == package
    business = parsed.trace_header_list.business
    assert business is not None
    assert business.business_document_info is not None
    assert [(r.organ_id, r.receiver_type) for r in business.business_document_info.receivers] == [
        ("000.00.02.H13", 0),
        ("000.00.03.H13", 1),
    ]


# --- status packages ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", list(StatusCode))
def test_status_round_trip(code: StatusCode, document: DocumentPackage, so_noi_vu: Organization) -> None:
    status = make_status_package(sender=so_noi_vu, document=document, status_code=code, timestamp=T0)
    assert status.description is not None
    assert status.target == response_for_document(document)
    data = build_status_package(status)
    assert f"<edXML:StatusCode>{code.value}</edXML:StatusCode>".encode() in data
    assert b"edXMLBody" not in data
    parsed = parse_status_package(data)
    assert parsed == status
    assert parsed.known_status is code


def test_status_with_unknown_code_and_explicit_reference(so_noi_vu: Organization) -> None:
    target = ResponseFor(organ_id="000.00.00.H13", code="5/UBND", document_id="000.00.00.H13,2025/01/02,5/UBND")
    status = make_status_package(sender=so_noi_vu, document=target, status_code="07", description="Khác", timestamp=T0)
    parsed = parse_status_package(build_status_package(status))
    assert parsed.status_code == "07"
    assert parsed.known_status is None
    assert [note.code for note in parsed.notes] == ["unknown_status_code"]
    assert parsed.model_dump(exclude={"notes"}) == status.model_dump(exclude={"notes"})
    with pytest.raises(EdxmlError) as caught:
        make_status_package(sender=so_noi_vu, document=target, status_code="7x")
    assert caught.value.code is EdxmlErrorCode.INVALID_PACKAGE
    with pytest.raises(EdxmlError) as caught:
        build_status_package(StatusPackage(sender=so_noi_vu, response_for=(target,), status_code="01"))
    assert caught.value.code is EdxmlErrorCode.INVALID_PACKAGE


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("update", "reason"),
    [
        ({"recipients": ()}, "To"),
        ({"code": None}, "Code"),
        ({"promulgation_info": PromulgationInfo(place="Cần Thơ")}, "PromulgationDate"),
        ({"document_type": None}, "DocumentType"),
        ({"subject": None}, "Subject"),
    ],
)
def test_builder_refuses_incomplete_headers(document: DocumentPackage, update: dict[str, object], reason: str) -> None:
    package = document.model_copy(update={"header": document.header.model_copy(update=update)})
    with pytest.raises(EdxmlError) as caught:
        build_document_package(package)
    assert caught.value.code is EdxmlErrorCode.INVALID_PACKAGE
    assert reason in caught.value.message


def test_builder_refuses_bad_attachments(document: DocumentPackage) -> None:
    empty = Attachment(content_id="x", attachment_name="x.pdf")
    with pytest.raises(EdxmlError) as caught:
        build_document_package(document.model_copy(update={"attachments": (empty,)}))
    assert caught.value.code is EdxmlErrorCode.INVALID_PACKAGE
    twice = (*document.attachments, document.attachments[0])
    with pytest.raises(EdxmlError) as caught:
        build_document_package(document.model_copy(update={"attachments": twice}))
    assert caught.value.code is EdxmlErrorCode.INVALID_PACKAGE


def test_builder_refuses_underivable_document_id(document: DocumentPackage) -> None:
    header = document.header.model_copy(update={"document_id": None, "code": None})
    with pytest.raises(EdxmlError) as caught:
        build_document_package(DocumentPackage(header=header))
    assert caught.value.code is EdxmlErrorCode.INVALID_PACKAGE


def test_models_refuse_text_xml_cannot_carry() -> None:
    with pytest.raises(ValidationError):
        Organization(organ_id="000.00.00.H13", organ_name="bad\x00name")
    with pytest.raises(ValidationError):
        Organization(organ_id="   ")
    assert Organization(organ_id=" 000.00.00.H13 ", fax="").fax is None
    assert Attachment(content_id="cid:abc", attachment_name="a").content_id == "abc"
