"""Hostile and broken inputs are refused quickly, with the right error code."""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable

import pytest

from common.edxml import (
    EdxmlError,
    EdxmlErrorCode,
    ParseLimits,
    parse_document_package,
    parse_package,
    parse_status_package,
)

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
Reader = Callable[[str], bytes]

BILLION_LAUGHS = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE edXML [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016" a="&lol9;"><edXML:edXMLEnvelope
 xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXML:edXMLHeader><edXML:MessageHeader>
 <edXML:From><edXML:OrganId>&lol9;</edXML:OrganId></edXML:From><edXML:Subject>&lol9;</edXML:Subject>
</edXML:MessageHeader></edXML:edXMLHeader></edXML:edXMLEnvelope></edXML>"""

XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLEnvelope><edXMLHeader><MessageHeader>
<From><OrganId>000.00.00.H13</OrganId><OrganName>&xxe;</OrganName></From><Subject>&xxe;</Subject>
</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE edXML SYSTEM "http://attacker.invalid/edxml.dtd">
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY % remote SYSTEM "http://attacker.invalid/x.dtd"> %remote;]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>"""

PLAIN_DTD = b"""<?xml version="1.0"?><!-- a comment first --><?pi data?>
<!DOCTYPE edXML [<!ELEMENT edXML ANY>]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>"""


def _status(extra_header: str = "", root_attrs: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{NS}"{root_attrs}><edXMLEnvelope><edXMLHeader><MessageHeader>
<From><OrganId>000.00.00.H13</OrganId></From>
<ResponseFor><OrganId>000.00.00.G22</OrganId><Code>1/VPCP</Code><DocumentId>x</DocumentId></ResponseFor>
<StatusCode>01</StatusCode><Timestamp>2025/11/05 09:30:12</Timestamp>{extra_header}
</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>""".encode()


def _refused(data: bytes, limits: ParseLimits | None = None) -> tuple[EdxmlErrorCode, float]:
    started = time.perf_counter()
    with pytest.raises(EdxmlError) as caught:
        parse_package(data, limits=limits)
    return caught.value.code, time.perf_counter() - started


# --- DTD, entities ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(XXE, id="xxe-file"),
        pytest.param(EXTERNAL_DTD, id="external-dtd"),
        pytest.param(PARAMETER_ENTITY, id="parameter-entity"),
        pytest.param(PLAIN_DTD, id="internal-dtd-after-comment-and-pi"),
        pytest.param(codecs.BOM_UTF8 + BILLION_LAUGHS, id="utf8-bom"),
        pytest.param(b"1212" + XXE, id="leading-junk"),
        pytest.param(XXE.decode().encode("utf-16"), id="utf-16"),
        pytest.param(XXE.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"'), id="latin-1"),
        pytest.param(BILLION_LAUGHS.replace(b"<!DOCTYPE", b"<!doctype"), id="lower-case"),
    ],
)
def test_dtd_is_refused_before_any_expansion(data: bytes) -> None:
    code, elapsed = _refused(data)
    assert code is EdxmlErrorCode.FORBIDDEN_DTD
    assert elapsed < 30.0  # a hang guard (nothing is expanded; an expansion runs for minutes), not a performance goal


def test_xxe_content_never_leaks() -> None:
    with pytest.raises(EdxmlError) as caught:
        parse_package(XXE)
    assert "root:" not in str(caught.value)


def test_entity_reference_without_dtd_is_malformed() -> None:
    data = _status().replace(b"<StatusCode>01", b"<StatusCode>&xxe;01")
    assert _refused(data)[0] is EdxmlErrorCode.MALFORMED


def test_xinclude_is_not_processed() -> None:
    include = '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>'
    package = parse_status_package(_status(extra_header=include))
    [extension] = package.extensions
    assert extension.name == "include"
    assert extension.text is None
    assert "root:" not in package.model_dump_json()


# --- size and complexity caps ------------------------------------------------------------------


def test_oversized_input_is_refused_before_parsing() -> None:
    huge = b"<" + b"a" * (50 * 1024 * 1024)
    code, elapsed = _refused(huge)
    assert code is EdxmlErrorCode.TOO_LARGE
    assert elapsed < 30.0  # a hang guard (nothing is expanded; an expansion runs for minutes), not a performance goal


def test_configurable_byte_cap(read_sample: Reader) -> None:
    data = read_sample("status.edxml")
    assert _refused(data, ParseLimits(max_bytes=len(data) - 1))[0] is EdxmlErrorCode.TOO_LARGE
    parse_package(data, limits=ParseLimits(max_bytes=len(data)))


def test_attachment_cap(read_sample: Reader) -> None:
    data = read_sample("edoc_new.edxml")
    assert _refused(data, ParseLimits(max_attachment_bytes=200_000))[0] is EdxmlErrorCode.TOO_LARGE
    package = parse_document_package(data, limits=ParseLimits(max_attachment_bytes=300_000))
    assert package.attachments[0].content is not None


def test_attachment_count_cap(read_sample: Reader) -> None:
    data = read_sample("edoc_new.edxml")
    assert _refused(data, ParseLimits(max_attachments=0))[0] is EdxmlErrorCode.TOO_COMPLEX


def test_depth_bomb_is_refused() -> None:
    depth = 100_000
    data = _status(extra_header="<x>" * depth + "</x>" * depth)
    code, elapsed = _refused(data)
    assert code is EdxmlErrorCode.TOO_COMPLEX
    assert elapsed < 30.0  # a hang guard (stops early), not a performance goal


def test_element_count_cap() -> None:
    many = "<Extra/>" * 500
    assert _refused(_status(extra_header=many), ParseLimits(max_elements=200))[0] is EdxmlErrorCode.TOO_COMPLEX
    assert len(parse_status_package(_status(extra_header=many)).extensions) == 500


def test_wide_flood_stops_early() -> None:
    flood = _status(extra_header="<a/>" * 3_000_000)  # ~12 MB of elements
    started = time.perf_counter()
    with pytest.raises(EdxmlError) as caught:
        parse_package(flood)
    elapsed = time.perf_counter() - started
    assert caught.value.code is EdxmlErrorCode.TOO_COMPLEX
    # The element count refused it while the chunks were fed, before any tree of 3 M elements was built.
    assert "XML elements" in str(caught.value), caught.value
    # Only a hang guard: generous, since a loaded CI host once took 10 s for what takes 1.2 s alone.
    assert elapsed < 60.0


# --- not XML, not edXML, not a usable package ------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"   \r\n\t", id="blank"),
        pytest.param(b"hello, world", id="text"),
        pytest.param(b'{"from": "000.00.00.H13"}', id="json"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", id="pdf"),
        pytest.param(bytes(range(256)) * 4, id="binary"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 64, id="zip"),
        pytest.param(b"<edXML><unclosed></edXML>", id="mismatched-tags"),
        pytest.param(b"<?xml version='1.0' encoding='x-unknown-42'?><edXML/>", id="unknown-encoding"),
        pytest.param(b"<?xml version='1.0' encoding='rot13'?><edXML/>", id="non-text-codec"),
        pytest.param(b'<?xml version="1.0" encoding="UTF-8"?><edXML>\xff\xfe</edXML>', id="invalid-utf8"),
        pytest.param(b"<!ENTITY x 'y'><edXML/>", id="declaration-outside-dtd"),
        pytest.param(b"<!-- never closed <edXML/>", id="unterminated-comment"),
    ],
)
def test_non_xml_is_malformed(data: bytes) -> None:
    assert _refused(data)[0] is EdxmlErrorCode.MALFORMED


def test_truncated_sample_is_malformed(read_sample: Reader) -> None:
    data = read_sample("edoc_update.edxml")
    assert _refused(data[: len(data) // 2])[0] is EdxmlErrorCode.MALFORMED


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"<html><body>hi</body></html>", id="html"),
        pytest.param(b'<?xml version="1.0"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"/>', id="soap"),
        pytest.param(b'<edXML xmlns="urn:someone-else"><edXMLEnvelope/></edXML>', id="foreign-namespace"),
        pytest.param(f'<edXML xmlns="{NS}"><something/></edXML>'.encode(), id="no-envelope"),
        pytest.param(
            f'<edXML xmlns="{NS}"><edXMLEnvelope><edXMLHeader/></edXMLEnvelope></edXML>'.encode(), id="no-header"
        ),
    ],
)
def test_other_xml_is_not_edxml(data: bytes) -> None:
    assert _refused(data)[0] is EdxmlErrorCode.NOT_EDXML


def test_unusable_packages_are_invalid(read_sample: Reader) -> None:
    no_from = _status().replace(b"<From><OrganId>000.00.00.H13</OrganId></From>", b"")
    assert _refused(no_from)[0] is EdxmlErrorCode.INVALID_PACKAGE
    no_organ_id = _status().replace(b"<OrganId>000.00.00.H13</OrganId>", b"<OrganName>X</OrganName>")
    assert _refused(no_organ_id)[0] is EdxmlErrorCode.INVALID_PACKAGE
    no_reference = (
        _status()
        .replace(b"<Code>1/VPCP</Code><DocumentId>x</DocumentId>", b"")
        .replace(b"<OrganId>000.00.00.G22</OrganId>", b"")
    )
    assert _refused(no_reference)[0] is EdxmlErrorCode.INVALID_PACKAGE
    bad_code = _status().replace(b"<StatusCode>01", b"<StatusCode>done")
    assert _refused(bad_code)[0] is EdxmlErrorCode.INVALID_PACKAGE
    unknown_business = read_sample("edoc_update.edxml").replace(
        b"<edXML:BussinessDocType>2<", b"<edXML:BussinessDocType>9<"
    )
    assert _refused(unknown_business)[0] is EdxmlErrorCode.INVALID_PACKAGE


def test_error_carries_code_and_message() -> None:
    with pytest.raises(EdxmlError) as caught:
        parse_package(BILLION_LAUGHS)
    error = caught.value
    assert error.code == "forbidden_dtd"
    assert str(error).startswith("forbidden_dtd: ")
    assert "DOCTYPE" in error.message


def test_non_bytes_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse_package("<edXML/>")  # type: ignore[arg-type]


def test_limits_that_would_disable_a_defence_are_refused() -> None:
    with pytest.raises(ValueError, match="256"):
        ParseLimits(max_depth=10_000)
    with pytest.raises(ValueError, match="negative"):
        ParseLimits(max_bytes=-1)
