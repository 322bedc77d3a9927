"""Variants seen in the wild (or allowed by XML) read the same, and what is normalised is reported."""

from __future__ import annotations

import base64
import codecs
import re
from collections.abc import Callable
from datetime import date, datetime

import pytest

from common.edxml import (
    DocumentPackage,
    NoteCode,
    StatusPackage,
    XmlExtension,
    build_document_package,
    parse_document_package,
    parse_package,
    parse_status_package,
)

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
Reader = Callable[[str], bytes]


def _codes(package: DocumentPackage | StatusPackage) -> list[str]:
    return [note.code for note in package.notes]


def _unprefixed(data: bytes) -> bytes:
    """Drop every ``edXML:`` prefix and its declarations: everything in the default namespace."""
    text = data.decode("utf-8")
    text = re.sub(r'\s+xmlns:edXML="[^"]*"', "", text)
    return text.replace("<edXML:", "<").replace("</edXML:", "</").encode("utf-8")


def _all_prefixed(data: bytes) -> bytes:
    """Use the ``edXML:`` prefix everywhere, the root included, and no default namespace."""
    text = _unprefixed(data).decode("utf-8")
    text = re.sub(r"<(/?)(?=[A-Za-z])", r"<\1edXML:", text)
    text = text.replace(f'<edXML:edXML xmlns="{NS}"', f'<edXML:edXML xmlns:edXML="{NS}"', 1)
    return text.encode("utf-8")


# --- namespace forms -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["status_acceptance_03.edxml", "edoc_update.edxml"])
def test_default_namespace_and_prefixed_forms_read_the_same(name: str, read_sample: Reader) -> None:
    original = parse_package(read_sample(name))
    unprefixed = _unprefixed(read_sample(name))
    assert b"edXML:" not in unprefixed
    prefixed = _all_prefixed(read_sample(name))
    assert prefixed.count(b"<edXML:edXML ") == 1
    assert parse_package(unprefixed) == original
    assert parse_package(prefixed) == original


def test_no_namespace_at_all_is_read_and_reported(read_sample: Reader) -> None:
    data = _unprefixed(read_sample("status_finish_06.edxml")).replace(f' xmlns="{NS}"'.encode(), b"")
    package = parse_status_package(data)
    assert package.status_code == "06"
    assert _codes(package) == [NoteCode.NO_NAMESPACE]


# --- encodings, junk -----------------------------------------------------------------------------


def test_utf16_package_is_transcoded(read_sample: Reader) -> None:
    data = read_sample("status_rejection_02.edxml")
    original = parse_status_package(data)
    utf16 = data.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    package = parse_status_package(utf16)
    assert package.model_dump(exclude={"notes"}) == original.model_dump(exclude={"notes"})
    assert _codes(package) == [NoteCode.TRANSCODED]


def test_utf8_bom_is_accepted_silently(read_sample: Reader) -> None:
    package = parse_status_package(codecs.BOM_UTF8 + read_sample("status.edxml"))
    assert package.notes == ()


def test_declared_single_byte_encoding_is_honoured() -> None:
    data = f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<edXML xmlns="{NS}"><edXMLEnvelope><edXMLHeader><MessageHeader>
<From><OrganId>000.00.00.H13</OrganId><OrganName>Café Société</OrganName></From>
<ResponseFor><DocumentId>000.00.00.G22,2025/01/02,1/VPCP</DocumentId></ResponseFor>
<StatusCode>05</StatusCode></MessageHeader></edXMLHeader></edXMLEnvelope></edXML>""".encode("latin-1")
    package = parse_status_package(data)
    assert package.sender.organ_name == "Café Société"
    assert _codes(package) == [NoteCode.TRANSCODED]


def test_leading_junk_and_whitespace(read_sample: Reader) -> None:
    data = read_sample("status.edxml")
    junk = parse_status_package(b"garbage!" + data)
    assert _codes(junk) == [NoteCode.LEADING_JUNK_SKIPPED]
    whitespace = parse_status_package(b"\r\n  " + data)  # illegal before <?xml: skipped and reported
    assert _codes(whitespace) == [NoteCode.LEADING_JUNK_SKIPPED]
    no_declaration = data[data.index(b"<edXML") :]
    assert parse_status_package(b"\n\n" + no_declaration).notes == ()  # legal XML: nothing to report


# --- values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2025/11/05", date(2025, 11, 5)),
        ("2025-11-05", date(2025, 11, 5)),
        ("05/11/2025", date(2025, 11, 5)),
        ("2025/11/5", date(2025, 11, 5)),
        ("2025/11/05 00:00:00", date(2025, 11, 5)),
    ],
)
def test_date_variants(written: str, expected: date, read_sample: Reader) -> None:
    data = read_sample("edoc_update.edxml").replace(
        b"<edXML:PromulgationDate>2018/09/28<", f"<edXML:PromulgationDate>{written}<".encode()
    )
    package = parse_document_package(data)
    assert package.header.promulgation_info is not None
    assert package.header.promulgation_info.promulgation_date == expected
    assert (NoteCode.DATE_FORMAT in _codes(package)) == (written != "2025/11/05")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2018/09/28 17:25:11", datetime(2018, 9, 28, 17, 25, 11)),
        ("2018-09-28 17:25:11", datetime(2018, 9, 28, 17, 25, 11)),
        ("2018-09-28T17:25:11", datetime(2018, 9, 28, 17, 25, 11)),
        ("2018-09-28T17:25:11.123+07:00", datetime(2018, 9, 28, 17, 25, 11, 123000)),
        ("2018-09-28T10:25:11Z", datetime(2018, 9, 28, 17, 25, 11)),
        ("2018/09/28 17:25", datetime(2018, 9, 28, 17, 25)),
        ("28/09/2018 17:25:11", datetime(2018, 9, 28, 17, 25, 11)),
        ("2018/09/28", datetime(2018, 9, 28)),
    ],
)
def test_timestamp_variants(written: str, expected: datetime, read_sample: Reader) -> None:
    data = read_sample("status.edxml").replace(b">2018/09/28 17:25:11<", f">{written}<".encode())
    assert parse_status_package(data).timestamp == expected


def test_impossible_dates_are_dropped_and_reported(read_sample: Reader) -> None:
    data = read_sample("edoc_update.edxml").replace(b">2018/09/28<", b">2014/02/30<")
    package = parse_document_package(data)
    assert package.header.due_date is None
    assert package.header.promulgation_info is not None
    assert package.header.promulgation_info.promulgation_date is None
    assert _codes(package).count(NoteCode.INVALID_DATE) == 2


def test_bad_numbers_and_booleans_are_dropped_and_reported(read_sample: Reader) -> None:
    data = (
        read_sample("edoc_update.edxml")
        .replace(b"<edXML:PageAmount>22<", b"<edXML:PageAmount>hai hai<")
        .replace(b"<edXML:Direction>false<", b"<edXML:Direction>maybe<")
        .replace(b"<edXML:Priority>0<", b"<edXML:Priority>" + b"9" * 5000 + b"<")
    )
    package = parse_document_package(data)
    other = package.header.other_info
    assert other is not None
    assert (other.page_amount, other.direction, other.priority) == (None, None, None)
    assert _codes(package).count(NoteCode.INVALID_INTEGER) == 2
    assert NoteCode.INVALID_BOOLEAN in _codes(package)


def test_status_code_padding_and_organ_in_charge_alias(read_sample: Reader) -> None:
    data = (
        read_sample("status.edxml")
        .replace(b">01</edXML:StatusCode>", b">5</edXML:StatusCode>")
        .replace(b"edXML:OrganizationInCharge>", b"edXML:OrganInCharge>")
    )
    package = parse_status_package(data)
    assert package.status_code == "05"
    assert package.sender.organization_in_charge == "UBND Tỉnh Nghệ An"
    assert _codes(package) == [NoteCode.STATUS_CODE_PADDED]


# --- attachments -------------------------------------------------------------------------------------


def _document_with_body(body: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{NS}" xmlns:xlink="http://www.w3.org/1999/xlink"><edXMLEnvelope><edXMLHeader><MessageHeader>
<From><OrganId>000.00.00.H13</OrganId></From><To><OrganId>000.00.01.H13</OrganId></To>
<DocumentId>000.00.00.H13,2025/11/05,1/UBND</DocumentId>
<Code><CodeNumber>1</CodeNumber><CodeNotation>UBND</CodeNotation></Code>
<PromulgationInfo><Place>Cần Thơ</Place><PromulgationDate>2025/11/05</PromulgationDate></PromulgationInfo>
<DocumentType><Type>1</Type><TypeName>Công văn</TypeName></DocumentType><Subject>Thử</Subject>
</MessageHeader></edXMLHeader>{body}</edXML>""".encode()


def test_xlink_reference_variant() -> None:
    payload = base64.b64encode(b"%PDF-1.4 tiny").decode()
    data = _document_with_body(f"""<edXMLBody><edXMLManifest version="1.0">
<Reference xlink:href="cid:5c0e-uuid" xlink:role="XLinkRole" xlink:type="simple">
<AttachmentName>a.pdf</AttachmentName><Description>Văn bản</Description><ContentType>application/pdf</ContentType>
</Reference></edXMLManifest></edXMLBody></edXMLEnvelope>
<AttachmentEncoded><Attachment><ContentId>5c0e-uuid</ContentId>
<ContentTransferEncoded>{payload}</ContentTransferEncoded></Attachment></AttachmentEncoded>""")
    package = parse_document_package(data)
    [attachment] = package.attachments
    assert attachment.content_id == "5c0e-uuid"
    assert attachment.attachment_name == "a.pdf"
    assert attachment.description == "Văn bản"
    assert attachment.content_type == "application/pdf"
    assert attachment.content == b"%PDF-1.4 tiny"
    assert package.notes == ()


def test_wrapped_and_unpadded_base64() -> None:
    content = bytes(range(256)) * 3
    wrapped = base64.encodebytes(content).decode()  # MIME style: 76 columns, newlines
    unpadded = base64.b64encode(b"abcd").decode().rstrip("=")
    data = _document_with_body(f"""<edXMLBody><edXMLManifest/></edXMLBody></edXMLEnvelope>
<AttachmentEncoded>
<Attachment><ContentId>cid:1</ContentId><AttachmentName>a.bin</AttachmentName>
<ContentTransferEncoded>
{wrapped}</ContentTransferEncoded></Attachment>
<Attachment><ContentId>cid:2</ContentId><AttachmentName>b.bin</AttachmentName>
<ContentTransferEncoded>{unpadded}</ContentTransferEncoded></Attachment>
</AttachmentEncoded>""")
    package = parse_document_package(data)
    assert [a.content for a in package.attachments] == [content, b"abcd"]
    assert _codes(package) == [NoteCode.ATTACHMENT_BASE64_PADDING]


def test_incomplete_attachments_are_kept_and_reported() -> None:
    data = _document_with_body("""<edXMLBody><edXMLManifest version="1.0">
<Reference><ContentId>cid:only-in-manifest</ContentId><AttachmentName>m.pdf</AttachmentName></Reference>
</edXMLManifest></edXMLBody></edXMLEnvelope>
<AttachmentEncoded><Attachment><ContentTransferEncoded>QUJD</ContentTransferEncoded></Attachment>
<Attachment><ContentId>cid:x</ContentId><ContentTransferEncoded>QUJDR</ContentTransferEncoded></Attachment>
</AttachmentEncoded>""")
    package = parse_document_package(data)
    summary = [(a.content_id, a.attachment_name, a.content) for a in package.attachments]
    assert summary == [
        ("attachment-1", "attachment-1", b"ABC"),
        ("x", "x", None),
        ("only-in-manifest", "m.pdf", None),
    ]
    assert _codes(package) == [
        NoteCode.ATTACHMENT_WITHOUT_ID,
        NoteCode.ATTACHMENT_WITHOUT_NAME,
        NoteCode.ATTACHMENT_NOT_BASE64,
        NoteCode.ATTACHMENT_WITHOUT_NAME,
        NoteCode.ATTACHMENT_WITHOUT_PAYLOAD,
    ]
    with pytest.raises(Exception, match="has no content"):
        build_document_package(package)


# --- unknown elements ------------------------------------------------------------------------------


def test_unknown_elements_are_tolerated_and_kept(read_sample: Reader) -> None:
    data = (
        read_sample("edoc_replacement.edxml")
        .replace(
            b"<edXML:SteeringType>",
            b'<edXML:ResponseForTask><edXML:TaskCode a="1">NV-1</edXML:TaskCode></edXML:ResponseForTask>'
            b"<edXML:SteeringType>",
        )
        .replace(b"<edXML:Direction>", b"<edXML:ReplyFors>x</edXML:ReplyFors><edXML:Direction>")
        .replace(b"<edXML:Paper>", b"<edXML:Priority>2</edXML:Priority><edXML:Paper>")
        .replace(
            b"<edXML:TraceHeaderList>",
            b"<Vendor:Stuff xmlns:Vendor='urn:v'>ignored</Vendor:Stuff><edXML:TraceHeaderList>",
        )
        .replace(b"<edXML:OrganAdd>", b"<edXML:Mobile>0900</edXML:Mobile><edXML:OrganAdd>")
    )
    package = parse_document_package(data)
    assert package.header.extensions == (
        XmlExtension(
            name="ResponseForTask",
            children=(XmlExtension(name="TaskCode", text="NV-1", attributes=(("a", "1"),)),),
        ),
    )
    assert package.header.other_info is not None
    assert package.header.other_info.extensions == (XmlExtension(name="ReplyFors", text="x"),)
    assert package.trace_header_list.business is not None
    assert package.trace_header_list.business.extensions == (XmlExtension(name="Priority", text="2"),)
    assert package.business_doc_type == 3


def test_comments_and_processing_instructions_are_ignored(read_sample: Reader) -> None:
    data = read_sample("status.edxml").replace(
        b"<edXML:StatusCode>01", b"<edXML:StatusCode><!-- c --><?pi x?>0<!-- d -->1"
    )
    assert parse_status_package(data).status_code == "01"
