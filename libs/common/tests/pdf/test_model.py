"""View-model validation and the Decree 30 text formats."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable

import pydantic
import pytest

from common.pdf.model import DocumentView, ListItem, Paragraph, QrBlock, nfc
from common.pdf.render import render_html
from common.pdf.text import format_date_line, format_number, format_number_line, placeholder_date_line


def test_every_string_is_nfc_normalised(seed_view: Callable[..., DocumentView]) -> None:
    decomposed = unicodedata.normalize("NFD", "Ủy ban nhân dân thành phố Cần Thơ")
    assert decomposed != nfc(decomposed)
    view = seed_view(
        issuer_name=unicodedata.normalize("NFD", "Văn phòng"),
        recipients=(decomposed,),
        body=({"kind": "paragraph", "text": decomposed},),
    )
    assert view.issuer_name == "Văn phòng"
    assert view.recipients == ("Ủy ban nhân dân thành phố Cần Thơ",)
    assert isinstance(view.body[0], Paragraph)
    assert view.body[0].text == "Ủy ban nhân dân thành phố Cần Thơ"
    assert unicodedata.is_normalized("NFC", view.body[0].text)


def test_jinja_filter_normalises_text_reaching_the_template(
    seed_view: Callable[..., DocumentView],
) -> None:
    html = render_html(seed_view())
    assert unicodedata.is_normalized("NFC", html)
    assert "Cổng Thông tin điện tử" in html


def test_view_is_frozen_and_rejects_unknown_fields(seed_view: Callable[..., DocumentView]) -> None:
    view = seed_view()
    with pytest.raises(pydantic.ValidationError):
        view.number = 5  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        seed_view(colour="red")
    with pytest.raises(pydantic.ValidationError):
        seed_view(urgency="GẤP")
    with pytest.raises(pydantic.ValidationError):
        seed_view(number=0)
    with pytest.raises(pydantic.ValidationError):
        seed_view(body=())


def test_body_blocks_are_a_discriminated_union(seed_view: Callable[..., DocumentView]) -> None:
    view = seed_view(
        body=(
            {"kind": "list_item", "text": "- Mạng xã hội Facebook"},
            {"kind": "qr", "label": "Zalo", "url": "https://zalo.me/1"},
        )
    )
    assert view.body == (
        ListItem(text="Mạng xã hội Facebook"),
        QrBlock(label="Zalo", url="https://zalo.me/1"),
    )
    with pytest.raises(pydantic.ValidationError):
        seed_view(body=({"kind": "table", "text": "x"},))
    # A QR code printed on an official document opens a web page, never a script or a local file.
    for url in ("javascript:alert(1)", "file:///etc/passwd", "zalo.me/1"):
        with pytest.raises(pydantic.ValidationError):
            seed_view(body=({"kind": "qr", "label": "Zalo", "url": url},))


def test_entries_lose_their_dashes_and_final_punctuation(seed_view: Callable[..., DocumentView]) -> None:
    view = seed_view(addressees=("- Sở Tài chính;",), subject="V/v điều chỉnh")
    assert view.addressees == ("Sở Tài chính",)
    assert view.subject == "điều chỉnh"


@pytest.mark.parametrize(
    ("number", "expected"), [(1, "01/VPUB-TTĐH"), (9, "09/VPUB-TTĐH"), (10, "10/VPUB-TTĐH"), (123, "123/VPUB-TTĐH")]
)
def test_numbers_below_ten_are_zero_padded(number: int, expected: str) -> None:
    assert format_number(number, "VPUB-TTĐH") == expected
    assert format_number_line(expected, "VPUB-TTĐH") == f"Số: {expected}"


def test_number_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        format_number(0, "VPUB-TTĐH")


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (dt.date(2026, 11, 27), "Cần Thơ, ngày 27 tháng 11 năm 2026"),
        (dt.date(2026, 1, 5), "Cần Thơ, ngày 05 tháng 01 năm 2026"),
        (dt.date(2026, 2, 28), "Cần Thơ, ngày 28 tháng 02 năm 2026"),
        (dt.date(2026, 3, 9), "Cần Thơ, ngày 09 tháng 3 năm 2026"),
    ],
)
def test_date_line_pads_days_and_the_first_two_months(date: dt.date, expected: str) -> None:
    assert format_date_line("Cần Thơ", date) == expected


def test_blank_forms_reserve_room_for_the_missing_parts() -> None:
    assert format_number_line(None, "VPUB-TTĐH").split() == ["Số:", "/VPUB-TTĐH"]
    line = placeholder_date_line("Cần Thơ", 11, 2025)
    assert line.split() == ["Cần", "Thơ,", "ngày", "tháng", "11", "năm", "2025"]
    assert "ngày      " in line
    assert placeholder_date_line("Cần Thơ", None, None).split() == ["Cần", "Thơ,", "ngày", "tháng", "năm"]
