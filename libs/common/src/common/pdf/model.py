"""View-model of a Decree 30/2020/NĐ-CP administrative document.

Everything the renderer needs to draw a document is here and nothing else: the services map their
domain objects onto :class:`DocumentView` and hand it to :func:`common.pdf.render.render_pdf`.

Every string is NFC-normalised on construction (Vietnamese text typed on some keyboards arrives
decomposed, and some fonts draw decomposed marks badly), and surrounding whitespace is stripped.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "BodyBlock",
    "DocumentView",
    "Heading",
    "ListItem",
    "Paragraph",
    "QrBlock",
    "SecrecyLevel",
    "SignatureBlock",
    "UrgencyLevel",
    "nfc",
]

UrgencyLevel = Literal["KHẨN", "THƯỢNG KHẨN", "HỎA TỐC"]
"""Urgency marks (ô 10b), from the lowest to the highest."""

SecrecyLevel = Literal["MẬT", "TỐI MẬT", "TUYỆT MẬT"]
"""Secrecy marks (ô 10a), from the lowest to the highest."""


def nfc(value: str) -> str:
    """Return ``value`` in Unicode normalisation form C.

    Args:
        value: Any text.

    Returns:
        The NFC form of the text (precomposed Vietnamese letters).
    """
    return unicodedata.normalize("NFC", value)


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return nfc(value).strip()
    if isinstance(value, list | tuple):
        return type(value)(_normalise(item) for item in value)
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    return value


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _nfc_everything(cls, data: Any) -> Any:
        return _normalise(data)


class Paragraph(_Frozen):
    """A body paragraph: justified, first line indented."""

    kind: Literal["paragraph"] = "paragraph"
    text: str


class Heading(_Frozen):
    """A numbered section heading inside the body, e.g. ``1. Theo dõi và tương tác…`` (bold)."""

    kind: Literal["heading"] = "heading"
    text: str


class ListItem(_Frozen):
    """A ``- …`` line of the body. ``text`` is given without the leading dash."""

    kind: Literal["list_item"] = "list_item"
    text: str

    @field_validator("text")
    @classmethod
    def _strip_dash(cls, value: str) -> str:
        return value.removeprefix("- ").strip() or value


class QrBlock(_Frozen):
    """A QR code (vector) for ``url``, introduced by ``label``.

    As in the Office's letters, the label is a ``- …`` list item of the body that ends with its
    colon (``… Mã QR truy cập trang thông tin:``); the code follows it, centred. ``label`` is given
    without the leading dash.
    """

    kind: Literal["qr"] = "qr"
    label: str
    url: Annotated[str, Field(max_length=1000)]

    @field_validator("label")
    @classmethod
    def _strip_dash(cls, value: str) -> str:
        return value.removeprefix("- ").strip() or value


BodyBlock = Annotated[Paragraph | Heading | ListItem | QrBlock, Field(discriminator="kind")]
"""One block of the document body (discriminated by ``kind``)."""


class SignatureBlock(_Frozen):
    """The signer's block (ô 7a, 7b): authority/title lines and the signer's name.

    Attributes:
        authority_lines: Upper-case lines, e.g. ``("KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG")``.
        signer_name: The name, without academic titles, e.g. ``"Lê Xuân Hoa"``.
    """

    authority_lines: Annotated[tuple[str, ...], Field(min_length=1, max_length=4)]
    signer_name: str


class DocumentView(_Frozen):
    """Everything needed to draw one administrative document.

    Attributes:
        parent_body: Parent body line (ô 2), e.g. ``"UBND THÀNH PHỐ CẦN THƠ"``; None when there is none.
        issuer_name: Issuing body (ô 2, bold), e.g. ``"VĂN PHÒNG"``.
        notation: Notation after the slash (ô 3), e.g. ``"VPUB-TTĐH"``.
        number: Registered number; None while not issued (a box is reserved and filled after signing).
        place: Place name of the date line (ô 4), e.g. ``"Cần Thơ"``.
        issued_date: Issue date; None while not issued (the date line is reserved and filled after
            signing).
        draft_month: Month printed in the reserved date line while ``issued_date`` is None.
        draft_year: Year printed in the reserved date line while ``issued_date`` is None.
        doc_type_name: Type name (ô 5a), e.g. ``"QUYẾT ĐỊNH"``; None for a công văn.
        subject: Summary (trích yếu). For a công văn it is printed as ``V/v <subject>`` under the
            number; give it without the ``V/v`` prefix.
        addressees: ``Kính gửi`` entries without dashes or final punctuation.
        body: Body blocks, in order.
        signature: The signer's block.
        recipients: ``Nơi nhận`` entries without dashes or final punctuation, e.g. ``"Như trên"``.
        archive_line: Last ``Nơi nhận`` entry, printed as given, e.g. ``"Lưu: VT, AN."``.
        urgency: Urgency mark (ô 10b) or None.
        secrecy: Secrecy mark (ô 10a) or None.
        verification_url: URL of the public verification page; printed as a small QR code with a
            caption at the end of the document when given.
        is_draft: Prints a "DỰ THẢO" mark and watermark on every page.
    """

    parent_body: str | None = None
    issuer_name: str
    notation: Annotated[str, Field(max_length=40)]
    number: Annotated[int | None, Field(ge=1, le=999_999)] = None
    place: str
    issued_date: dt.date | None = None
    draft_month: Annotated[int | None, Field(ge=1, le=12)] = None
    draft_year: Annotated[int | None, Field(ge=1900, le=9999)] = None
    doc_type_name: str | None = None
    subject: str
    addressees: tuple[str, ...] = ()
    body: Annotated[tuple[BodyBlock, ...], Field(min_length=1)]
    signature: SignatureBlock
    recipients: tuple[str, ...] = ()
    archive_line: str
    urgency: UrgencyLevel | None = None
    secrecy: SecrecyLevel | None = None
    verification_url: Annotated[str | None, Field(max_length=1000)] = None
    is_draft: bool = False

    @field_validator("subject")
    @classmethod
    def _strip_vv(cls, value: str) -> str:
        return value.removeprefix("V/v").strip() or value

    @field_validator("addressees", "recipients")
    @classmethod
    def _strip_entry(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(item.removeprefix("- ").rstrip(";.").strip() for item in value)

    @property
    def is_cong_van(self) -> bool:
        """True for a công văn (no type name; the subject is printed as ``V/v …``)."""
        return self.doc_type_name is None
