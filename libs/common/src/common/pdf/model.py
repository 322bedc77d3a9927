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
    "Annex",
    "Article",
    "Attachment",
    "Authority",
    "Basis",
    "BodyBlock",
    "Chapter",
    "Clause",
    "DocumentView",
    "Enactment",
    "Heading",
    "ListBlock",
    "ListItem",
    "Paragraph",
    "Part",
    "Point",
    "QrBlock",
    "SecrecyLevel",
    "Section",
    "SignatureBlock",
    "Table",
    "UrgencyLevel",
    "nfc",
    "roman",
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


_ROMAN = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)


def roman(number: int) -> str:
    """``number`` in Roman numerals (appendices, chapters and parts are numbered so).

    Args:
        number: 1 or more.

    Returns:
        The canonical (subtractive) form, e.g. ``"IV"`` for 4, ``"XIX"`` for 19.
    """
    out = []
    for value, letters in _ROMAN:
        while number >= value:
            out.append(letters)
            number -= value
    return "".join(out)


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
    url: Annotated[str, Field(max_length=1000, pattern=r"^https?://[^\s]+$")]

    @field_validator("label")
    @classmethod
    def _strip_dash(cls, value: str) -> str:
        return value.removeprefix("- ").strip() or value


class Authority(_Frozen):
    """The enacting authority line of a nghị quyết, quyết định or công điện, centred and bold.

    ``CHỦ TỊCH ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI`` (a decision of the chairman: an individual
    signs) or ``ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI`` (the collective decides: ``TM.`` signs). It is
    data of the document, printed as given, so that it can later be filled from the signer's
    directory entry for the issuer.
    """

    kind: Literal["authority"] = "authority"
    text: str


class Basis(_Frozen):
    """The legal bases (căn cứ), italic; each ends with ``;`` and the last with ``.`` when printed."""

    kind: Literal["basis"] = "basis"
    items: Annotated[tuple[str, ...], Field(min_length=1, max_length=60)]


class Enactment(_Frozen):
    """The centred, bold enacting word: ``QUYẾT ĐỊNH:`` (``QUYẾT NGHỊ:`` for a nghị quyết)."""

    kind: Literal["enactment"] = "enactment"
    text: str = "QUYẾT ĐỊNH"

    @field_validator("text")
    @classmethod
    def _strip_colon(cls, value: str) -> str:
        return value.rstrip(":").strip().upper() or value


class Point(_Frozen):
    """A point (điểm) of a clause: ``a) …``."""

    letter: Annotated[str, Field(pattern=r"^[a-zđ]$")] | None = None
    text: str


class Clause(_Frozen):
    """A clause (khoản) of an article: ``1. …``, with its points."""

    number: Annotated[int, Field(ge=1, le=999)] | None = None
    text: str
    points: Annotated[tuple[Point, ...], Field(max_length=60)] = ()


class Article(_Frozen):
    """An article (điều): ``Điều 1.`` in bold, its title in bold, then its text and clauses.

    ``number`` is optional here only so that :func:`common.pdf.rules.check_document` can name the
    rule a document without it breaks.
    """

    kind: Literal["article"] = "article"
    number: Annotated[int, Field(ge=1, le=9999)] | None = None
    title: str | None = None
    text: str | None = None
    clauses: Annotated[tuple[Clause, ...], Field(max_length=200)] = ()


class Part(_Frozen):
    """A part (phần): ``Phần I`` and its title, centred, bold."""

    kind: Literal["part"] = "part"
    number: Annotated[str, Field(pattern=r"^[IVXLC]+$")]
    title: str


class Chapter(_Frozen):
    """A chapter (chương): ``Chương I`` and its upper-case title, centred, bold."""

    kind: Literal["chapter"] = "chapter"
    number: Annotated[str, Field(pattern=r"^[IVXLC]+$")]
    title: str


class Section(_Frozen):
    """A section (mục) of a chapter: ``Mục 1. TITLE``, centred, bold."""

    kind: Literal["section"] = "section"
    number: Annotated[int, Field(ge=1, le=999)]
    title: str


class ListBlock(_Frozen):
    """A list: ``numbered`` (``1.``), ``dash`` (``-``) or ``plus`` (``+``) items, as body paragraphs."""

    kind: Literal["list"] = "list"
    style: Literal["numbered", "dash", "plus"] = "dash"
    items: Annotated[tuple[str, ...], Field(min_length=1, max_length=500)]


class Table(_Frozen):
    """A ruled table: a bold header row (repeated on every page it spans) and body rows.

    Attributes:
        columns: The header cells.
        rows: The body rows, each with one cell per column.
        widths: Relative column widths (any unit), or None for equal columns.
        caption: An optional bold, centred title printed above the table.
    """

    kind: Literal["table"] = "table"
    columns: Annotated[tuple[str, ...], Field(min_length=1, max_length=12)]
    rows: Annotated[tuple[tuple[str, ...], ...], Field(max_length=2000)]
    widths: tuple[Annotated[float, Field(gt=0)], ...] | None = None
    caption: str | None = None

    @model_validator(mode="after")
    def _rectangular(self) -> Table:
        width = len(self.columns)
        if any(len(row) != width for row in self.rows) or (self.widths is not None and len(self.widths) != width):
            raise ValueError(f"every row and the widths need {width} cells, one per column")
        return self


BodyBlock = Annotated[
    Paragraph
    | Heading
    | ListItem
    | QrBlock
    | Authority
    | Basis
    | Enactment
    | Article
    | Part
    | Chapter
    | Section
    | ListBlock
    | Table,
    Field(discriminator="kind"),
]
"""One block of the document body (discriminated by ``kind``)."""


class Annex(_Frozen):
    """A document that travels inside the main one, on pages of its own (numbered from 1 again).

    Attributes:
        kind: ``appendix`` (phụ lục: ``Phụ lục I`` then its title) or ``regulation`` (a quy chế or
            quy định issued by the decision: its type name, then its title).
        type_name: For a regulation, ``QUY CHẾ`` or ``QUY ĐỊNH``.
        title: The title, e.g. ``DANH MỤC CÁC XÃ, PHƯỜNG``.
        issued_by: Who issues the main document, for the reference line, e.g. ``Chủ tịch Ủy ban
            nhân dân thành phố``.
        body: Its blocks.
    """

    kind: Literal["appendix", "regulation"] = "appendix"
    type_name: str | None = None
    title: str
    issued_by: str | None = None
    body: Annotated[tuple[BodyBlock, ...], Field(min_length=1, max_length=2000)]


class Attachment(_Frozen):
    """A file that travels with the document (tài liệu kèm theo), listed under the body.

    Attributes:
        name: File name shown in the list.
        sha256: Hex SHA-256 of the file, printed so that a reader can check the copy they hold.
        size: Size in bytes.
    """

    name: Annotated[str, Field(max_length=255)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(ge=0)]


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
        parent_body: Parent body line (ô 2), e.g. ``"ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI"``; None when there is none.
        issuer_name: Issuing body (ô 2, bold), e.g. ``"VĂN PHÒNG"``.
        notation: Notation after the slash (ô 3), e.g. ``"VP-TTĐH"``.
        number: Registered number; None while not issued (a box is reserved and filled after signing).
        place: Place name of the date line (ô 4), e.g. ``"Hà Nội"``.
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
        second_signature: A second signer's block, printed on the left instead of ``Nơi nhận``
            (biên bản: the secretary; giấy ủy quyền: the person authorised). Printed only.
        doc_type: The type's abbreviation of Decree 30 Phụ lục III (``QĐ``, ``CT``, ``CV`` …); it
            selects the rules :func:`common.pdf.rules.check_document` applies. None: no type rules.
        annexes: Appendices and attached regulations, each on pages of its own.
        attachments: Files travelling with the document, listed (name, size, SHA-256) under the
            body.
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
    second_signature: SignatureBlock | None = None
    recipients: tuple[str, ...] = ()
    archive_line: str
    urgency: UrgencyLevel | None = None
    secrecy: SecrecyLevel | None = None
    verification_url: Annotated[str | None, Field(max_length=1000)] = None
    is_draft: bool = False
    doc_type: Annotated[str | None, Field(max_length=8)] = None
    annexes: Annotated[tuple[Annex, ...], Field(max_length=20)] = ()
    attachments: Annotated[tuple[Attachment, ...], Field(max_length=50)] = ()

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
