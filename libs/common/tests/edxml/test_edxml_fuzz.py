"""Bounded fuzzing: mutated packages never raise anything but EdxmlError, and never hang.

A cheap, always-on variant of the atheris fuzzing recommended in QUALITY.md §3.6. Whatever the
parser accepts must also survive the builder and parse back to the same values.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.edxml import (
    DocumentPackage,
    EdxmlError,
    ParseLimits,
    StatusPackage,
    build_document_package,
    build_status_package,
    parse_package,
    status_routing,
)
from common.testing import scaled

SAMPLES = Path(__file__).parent / "samples"
SEEDS = [path.read_bytes() for path in sorted(SAMPLES.glob("*.edxml"))]
TOKENS = [
    b"<!DOCTYPE edXML [<!ENTITY a 'b'>]>",
    b"<!ENTITY x SYSTEM 'file:///etc/passwd'>",
    b"&a;",
    b"&#0;",
    b"&#13;",
    b"&#x1F600;",
    b"&lt;",
    b"<",
    b">",
    b"</",
    b"/>",
    b"<![CDATA[x]]>",
    b"]]>",
    b"<!--",
    b"-->",
    b"<?xml version='1.0'?>",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xc3",
    b'"',
    b"edXML:",
    b'xmlns:edXML=""',
    b'xmlns="urn:x"',
    b"<edXML:To><edXML:OrganId>1</edXML:OrganId></edXML:To>",
    b"<edXML:StatusCode>99</edXML:StatusCode>",
    b"<edXML:BussinessDocType>7</edXML:BussinessDocType>",
    b"<edXML:PromulgationDate>2025/02/30</edXML:PromulgationDate>",
    b"<edXML:ResponseFor/>",
    b"<Attachment><ContentId>cid:1</ContentId><ContentTransferEncoded>QQ</ContentTransferEncoded></Attachment>",
    b"cid:",
    b"====",
    b"9" * 40,
    b" ",
]
LIMITS = ParseLimits(max_bytes=2 * 1024 * 1024, max_elements=5_000, max_depth=40)


@st.composite
def mutated_packages(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        # mostly hit the header (first 8 KB): the big samples are a base64 payload after it
        limit = len(data) if draw(st.integers(0, 4)) == 0 else min(len(data), 8192)
        pos = draw(st.integers(min_value=0, max_value=limit))
        operation = draw(st.sampled_from(["flip", "delete", "insert", "duplicate", "truncate", "byte"]))
        if operation == "flip" and pos < len(data):
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif operation == "byte" and pos < len(data):
            data[pos] = draw(st.integers(0, 255))
        elif operation == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif operation == "insert":
            data[pos:pos] = draw(st.sampled_from(TOKENS))
        elif operation == "duplicate":
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 256))]
        elif operation == "truncate":
            del data[pos:]
    return bytes(data)


def _check(data: bytes) -> None:
    try:
        routing: tuple[str, ...] | EdxmlError | None = status_routing(data, limits=LIMITS)
    except EdxmlError as exc:
        routing = exc
    try:
        package = parse_package(data, limits=LIMITS)
    except EdxmlError:
        return
    # What a hub routes by is what the recipient reads: the ResponseFor organ ids of a status
    # package, nothing for a document.
    if isinstance(package, StatusPackage):
        assert routing == tuple(dict.fromkeys(r.organ_id for r in package.response_for if r.organ_id))
    else:
        assert routing is None
    try:
        rebuilt = (
            build_status_package(package) if isinstance(package, StatusPackage) else build_document_package(package)
        )
    except EdxmlError:
        return
    again = parse_package(rebuilt)
    if isinstance(package, StatusPackage):
        assert isinstance(again, StatusPackage)
        assert again.model_dump(exclude={"notes"}) == package.model_dump(exclude={"notes"})
    else:
        assert isinstance(again, DocumentPackage)
        assert again.header.model_copy(update={"document_id": None}) == package.header.model_copy(
            update={"document_id": None}
        )
        assert again.trace_header_list == package.trace_header_list
        assert again.attachments == package.attachments


@given(mutated_packages())
@settings(
    max_examples=scaled(300),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_mutated_samples_raise_only_edxml_errors(data: bytes) -> None:
    _check(data)


@given(st.binary(max_size=4096))
@settings(max_examples=scaled(200), deadline=None, database=None)
def test_random_bytes_raise_only_edxml_errors(data: bytes) -> None:
    _check(data)


@given(st.text(max_size=300))
@settings(max_examples=scaled(100), deadline=None, database=None)
def test_random_text_in_a_field_raises_only_edxml_errors(text: str) -> None:
    seed = (SAMPLES / "status.edxml").read_bytes()
    _check(seed.replace(b"Nguy\xe1\xbb\x85n", text.encode("utf-8", errors="surrogatepass")))


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.edxml")), ids=lambda p: p.name)
def test_status_routing_reads_what_the_full_parse_reads(path: Path) -> None:
    _check(path.read_bytes())
    if path.name.startswith("status"):
        assert status_routing(path.read_bytes())
