"""Value formats: dates, timestamps, DocumentId, code, organisation ids."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.edxml import (
    VIETNAM_TZ,
    EdxmlError,
    EdxmlErrorCode,
    OrganIdFormat,
    classify_organ_id,
    format_code,
    format_date,
    format_timestamp,
    make_document_id,
    now_vietnam,
    parse_date,
    parse_document_id,
    parse_timestamp,
    split_code,
)


def test_document_id_rule() -> None:
    assert (
        make_document_id("000.00.00.H13", date(2025, 11, 5), "123", "VPUB-TTĐH")
        == "000.00.00.H13,2025/11/05,123/VPUB-TTĐH"
    )
    parts = parse_document_id("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT")
    assert (parts.organ_id, parts.promulgation_date, parts.code_number, parts.code_notation) == (
        "000.00.00.G22",
        date(2015, 9, 30),
        "7816",
        "VPCP-TTĐT",
    )


def test_document_id_with_impossible_date_keeps_its_text() -> None:
    parts = parse_document_id("000.00.00.G22,2014/02/30,7806/VPCP-TTĐT")
    assert parts.promulgation_date is None
    assert parts.date_text == "2014/02/30"


@pytest.mark.parametrize(
    "text",
    ["9fbfbad2-f1f8-4256-a2eb-50fb1061cddb", "a,b", "000.00.00.H13,2025-11-05,1/X", "000.00.00.H13,2025/11/05,123", ""],
)
def test_document_id_shape_is_checked(text: str) -> None:
    with pytest.raises(EdxmlError) as caught:
        parse_document_id(text)
    assert caught.value.code is EdxmlErrorCode.INVALID_DOCUMENT_ID


@pytest.mark.parametrize(
    ("organ_id", "number", "notation"),
    [("", "1", "X"), ("000.00.00.H13", "", "X"), ("000.00.00.H13", "1", ""), ("a,b", "1", "X"), ("o", "1/2", "X")],
)
def test_make_document_id_refuses_ambiguous_parts(organ_id: str, number: str, notation: str) -> None:
    with pytest.raises(EdxmlError) as caught:
        make_document_id(organ_id, date(2025, 1, 1), number, notation)
    assert caught.value.code is EdxmlErrorCode.INVALID_DOCUMENT_ID


@given(
    organ=st.from_regex(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}", fullmatch=True),
    day=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    number=st.from_regex(r"[1-9]\d{0,5}", fullmatch=True),
    notation=st.from_regex(r"[A-ZĐ]{2,6}(-[A-ZĐ]{2,6}){0,2}", fullmatch=True),
)
@settings(max_examples=100, deadline=None, database=None)
def test_document_id_round_trip(organ: str, day: date, number: str, notation: str) -> None:
    parts = parse_document_id(make_document_id(organ, day, number, notation))
    assert (parts.organ_id, parts.promulgation_date, parts.code_number, parts.code_notation) == (
        organ,
        day,
        number,
        notation,
    )


def test_code_text() -> None:
    assert format_code("123", "VPUB-TTĐH") == "123/VPUB-TTĐH"
    assert format_code("123", "") == "123"
    assert split_code(" 7816/VPCP-TTĐT ") == ("7816", "VPCP-TTĐT")
    assert split_code("12/QĐ/UBND") == ("12", "QĐ/UBND")
    assert split_code("12") == ("12", "")


def test_dates_and_timestamps() -> None:
    assert format_date(date(2025, 1, 2)) == "2025/01/02"
    assert parse_date("2025/1/2") == date(2025, 1, 2)
    assert format_timestamp(datetime(2025, 1, 2, 3, 4, 5, 999)) == "2025/01/02 03:04:05"
    assert format_timestamp(datetime(2025, 1, 1, 20, 0, tzinfo=UTC)) == "2025/01/02 03:00:00"
    assert parse_timestamp("2025/01/02 03:04:05") == datetime(2025, 1, 2, 3, 4, 5)
    assert parse_timestamp("2025-01-01T20:00:00-00:00") == datetime(2025, 1, 2, 3, 0)
    assert now_vietnam().tzinfo is None
    assert abs((now_vietnam() - datetime.now(VIETNAM_TZ).replace(tzinfo=None)).total_seconds()) < 5


@pytest.mark.parametrize(
    "text", ["", "2025", "2025/13/01", "2014/02/30", "32/01/2025", "2025/01/01 25:00:00", "9999/12/31 23:00:00-05:00"]
)
def test_invalid_dates_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_timestamp(text)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
@settings(max_examples=100, deadline=None, database=None)
def test_timestamp_round_trip(value: datetime) -> None:
    assert parse_timestamp(format_timestamp(value)) == value.replace(microsecond=0)


@pytest.mark.parametrize(
    ("organ_id", "expected"),
    [
        ("000.00.00.H13", OrganIdFormat.QCVN_102),
        ("000.00.00.G22", OrganIdFormat.QCVN_102),
        ("01.02.G22", OrganIdFormat.QD_20),
        ("28.22.H17", OrganIdFormat.QD_20),
        ("H13.01.02", OrganIdFormat.QD_20),
        ("vxp.saas.03", OrganIdFormat.UNKNOWN),
        ("A" * 36, OrganIdFormat.UNKNOWN),
    ],
)
def test_classify_organ_id(organ_id: str, expected: OrganIdFormat) -> None:
    assert classify_organ_id(organ_id) is expected
