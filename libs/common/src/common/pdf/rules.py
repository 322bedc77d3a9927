"""Decree 30/2020/NĐ-CP rules of each document type (Phụ lục III), checked on a :class:`DocumentView`.

:data:`TYPE_RULES` says, for each text type, what its title block holds, what its content must
contain (căn cứ, enacting word, articles, Kính gửi), how it is signed (collective ``TM.``,
individual, two signers) and what may be attached. :func:`check_document` returns every rule a
document breaks, each with a stable identifier (``nd30.quyet-dinh.basis-required``) that the services
put in their ``application/problem+json`` answers; the table in ``docs/document-types.md`` lists
the same rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from common.pdf.model import Annex, Article, BodyBlock, Chapter, DocumentView, Part, SignatureBlock, Table, roman

__all__ = [
    "AUTHORITY_PREFIXES",
    "MIN_COLUMN_WIDTH_MM",
    "POINT_LETTERS",
    "TYPE_RULES",
    "RuleViolation",
    "TypeRules",
    "check_document",
]

AUTHORITY_PREFIXES = ("TM.", "KT.", "TL.", "TUQ.", "Q.")
"""Signing-authority prefixes of Decree 30 Art. 13 (thay mặt, ký thay, thừa lệnh, thừa ủy quyền,
quyền)."""

POINT_LETTERS = "abcdđeghiklmnopqrstuvxy"
"""Points of a clause are lettered in the order of the Vietnamese alphabet (no f, j, w, z)."""

STANDALONE_REGULATIONS = ("QC", "QyĐ")
"""Codes of quy chế and quy định: Decree 30 issues them by a decision, never as documents of their own."""

_COLLECTIVE_OPENERS = ("ỦY BAN", "HỘI ĐỒNG", "CHÍNH PHỦ", "BAN THƯỜNG VỤ", "THƯỜNG TRỰC")
"""An authority line naming a body rather than a position: the collective decides, ``TM.`` signs."""

MIN_COLUMN_WIDTH_MM = 8.0
"""Narrowest column of a table: room for two digits (``STT``) at 13 pt between the cell's padding.

Widths are relative, so any ratio could be sent; on the 164 mm text width a 1:1000 column would be
0.2 mm wide, and its text would be cut into one letter per line."""
_TEXT_WIDTH_MM = 210 - 30 - 16
"""A4 less the stylesheet's left and right margins: the width of every table."""

_ROMAN_NUMBERS = {roman(number): number for number in range(1, 400)}
"""The canonical Roman numerals the model's pattern (``I V X L C``) can spell: I … CCCXCIX."""

Signing = Literal["collective", "individual", "by-authority", "two-signers", "any"]


@dataclass(frozen=True)
class TypeRules:
    """What Decree 30 asks of one text type.

    Attributes:
        code: Abbreviation of Phụ lục III (``QĐ``); ``CV`` for công văn.
        name: The type name printed in the title block (``QUYẾT ĐỊNH``); None for a công văn.
        basis_required: The content opens with căn cứ.
        enactment: The enacting word the content must have (``QUYẾT ĐỊNH``), or None.
        articles_required: The content is made of articles (``Điều 1.`` …).
        addressee_required: A ``Kính gửi`` is needed.
        signing: ``collective`` (``TM.`` + the body), ``individual`` (the head, or ``KT.``, ``Q.``),
            ``by-authority`` (collective or individual, following the authority line), ``two-signers``
            (a second block on the left) or ``any``.
        regulations_allowed: May carry an attached quy chế / quy định.
        closing: The closing formula, for the documentation.
    """

    code: str
    name: str | None
    basis_required: bool = False
    enactment: str | None = None
    articles_required: bool = False
    addressee_required: bool = False
    signing: Signing = "any"
    regulations_allowed: bool = False
    closing: str = "Nội dung kết thúc bằng dấu ``./.``; Nơi nhận, chữ ký."


TYPE_RULES: dict[str, TypeRules] = {
    rules.code: rules
    for rules in (
        TypeRules(
            "NQ",
            "NGHỊ QUYẾT",
            basis_required=True,
            enactment="QUYẾT NGHỊ",
            articles_required=True,
            signing="collective",
            regulations_allowed=True,
            closing="Điều cuối: hiệu lực và trách nhiệm thi hành; ký TM. tập thể.",
        ),
        TypeRules(
            "QĐ",
            "QUYẾT ĐỊNH",
            basis_required=True,
            enactment="QUYẾT ĐỊNH",
            articles_required=True,
            signing="by-authority",
            regulations_allowed=True,
            closing="Điều cuối: trách nhiệm thi hành (``Như Điều 3;`` ở Nơi nhận).",
        ),
        TypeRules(
            "CT", "CHỈ THỊ", signing="individual", closing="Nội dung kết thúc bằng dấu ``./.``; người đứng đầu ký."
        ),
        TypeRules("TB", "THÔNG BÁO"),
        TypeRules("HD", "HƯỚNG DẪN"),
        TypeRules("CTr", "CHƯƠNG TRÌNH"),
        TypeRules("KH", "KẾ HOẠCH"),
        TypeRules("PA", "PHƯƠNG ÁN"),
        TypeRules("ĐA", "ĐỀ ÁN"),
        TypeRules("BC", "BÁO CÁO"),
        TypeRules(
            "TTr",
            "TỜ TRÌNH",
            addressee_required=True,
            closing="Kết thúc bằng đề nghị ``… xem xét, quyết định./.``.",
        ),
        TypeRules("CV", None, addressee_required=True, closing="``Nơi nhận:`` bắt đầu bằng ``- Như trên;``."),
        TypeRules(
            "CĐ",
            "CÔNG ĐIỆN",
            addressee_required=True,
            signing="individual",
            closing="Dòng thẩm quyền ``… điện:`` trước Kính gửi; nội dung kết thúc bằng ``./.``.",
        ),
        TypeRules("GM", "GIẤY MỜI"),
        TypeRules("GGT", "GIẤY GIỚI THIỆU", closing="``Giấy này có giá trị đến hết ngày …``."),
        TypeRules(
            "BB",
            "BIÊN BẢN",
            signing="two-signers",
            closing="Kết thúc giờ họp; THƯ KÝ (trái) và CHỦ TỌA (phải) cùng ký.",
        ),
        TypeRules(
            "GUQ",
            "GIẤY ỦY QUYỀN",
            signing="two-signers",
            closing="NGƯỜI ĐƯỢC ỦY QUYỀN (trái) và NGƯỜI ỦY QUYỀN (phải) cùng ký.",
        ),
    )
}


@dataclass(frozen=True)
class RuleViolation:
    """A rule of Decree 30 that a document breaks.

    Attributes:
        rule: Stable identifier, e.g. ``nd30.quyet-dinh.basis-required``.
        message: What is wrong, in English, for the integrator.
        location: Where, as a path into the document (``("body", 4, "number")``).
    """

    rule: str
    message: str
    location: tuple[str | int, ...] = ()


_SLUGS = {
    "NQ": "nghi-quyet",
    "QĐ": "quyet-dinh",
    "CT": "chi-thi",
    "TTr": "to-trinh",
    "CV": "cong-van",
    "CĐ": "cong-dien",
    "BB": "bien-ban",
    "GUQ": "giay-uy-quyen",
}


def _slug(code: str) -> str:
    return _SLUGS.get(code, code.lower())


def _prefix(signature: SignatureBlock) -> str | None:
    first = signature.authority_lines[0].split()[0].upper()
    return first if first in AUTHORITY_PREFIXES else None


def _is_collective(authority: str) -> bool:
    return authority.upper().startswith(_COLLECTIVE_OPENERS)


def _check_signature(signature: SignatureBlock, where: str) -> Iterator[RuleViolation]:
    first = signature.authority_lines[0].split()[0].upper()
    prefix = _prefix(signature)
    if prefix is None and first.endswith(".") and len(first) <= 5 and first.replace(".", "").isalpha():
        yield RuleViolation(
            "nd30.signature.prefix",
            f"{first!r} is not a signing authority of Decree 30 Art. 13 (one of {', '.join(AUTHORITY_PREFIXES)})",
            (where, "authority_lines", 0),
        )
    if prefix is not None and len(signature.authority_lines) < 2:
        yield RuleViolation(
            "nd30.signature.title-after-prefix",
            f"a {prefix} line is followed by the signer's own title (e.g. KT. CHÁNH VĂN PHÒNG / PHÓ CHÁNH VĂN PHÒNG)",
            (where, "authority_lines"),
        )


def _check_articles(blocks: Sequence[BodyBlock], where: tuple[str | int, ...]) -> Iterator[RuleViolation]:
    expected = 1
    for index, block in enumerate(blocks):
        if not isinstance(block, Article):
            continue
        location = (*where, index)
        if block.number is None:
            yield RuleViolation(
                "nd30.article.number-required", "every article is numbered (Điều 1., Điều 2. …)", location
            )
        elif block.number != expected:
            yield RuleViolation(
                "nd30.article.numbering",
                f"articles are numbered from 1 without gaps: expected Điều {expected}., found Điều {block.number}.",
                (*location, "number"),
            )
        expected = (block.number or expected) + 1
        if block.title is None and block.text is None and not block.clauses:
            yield RuleViolation("nd30.article.empty", "an article has a title, a text or clauses", location)
        for clause_index, clause in enumerate(block.clauses):
            clause_location = (*location, "clauses", clause_index)
            # A lone clause may go unnumbered; a number, when given, still counts from 1.
            if (len(block.clauses) > 1 or clause.number is not None) and clause.number != clause_index + 1:
                yield RuleViolation(
                    "nd30.clause.numbering",
                    f"the clauses of an article are numbered 1., 2. …: expected {clause_index + 1}.",
                    (*clause_location, "number"),
                )
            for point_index, point in enumerate(clause.points):
                wanted = POINT_LETTERS[point_index] if point_index < len(POINT_LETTERS) else None
                if (len(clause.points) > 1 or point.letter is not None) and point.letter != wanted:
                    yield RuleViolation(
                        "nd30.point.lettering",
                        f"points are lettered a), b), c), d), đ), e) …: expected {wanted})",
                        (*clause_location, "points", point_index, "letter"),
                    )


def _check_blocks(blocks: Sequence[BodyBlock], where: tuple[str | int, ...]) -> Iterator[RuleViolation]:
    """Rules on parts, chapters and tables, wherever they stand (body or annex)."""
    for index, block in enumerate(blocks):
        location = (*where, index)
        if isinstance(block, Part | Chapter) and block.number not in _ROMAN_NUMBERS:
            yield RuleViolation(
                f"nd30.{block.kind}.roman-number",
                f"{'Phần' if block.kind == 'part' else 'Chương'} {block.number} is not a Roman numeral:"
                " parts and chapters are numbered I, II, III, IV, V … (never IIII, VX or IC)",
                (*location, "number"),
            )
        if isinstance(block, Table) and block.widths is not None:
            total = sum(block.widths)
            narrow = [i for i, width in enumerate(block.widths) if width / total * _TEXT_WIDTH_MM < MIN_COLUMN_WIDTH_MM]
            for column in narrow:
                share = block.widths[column] / total
                yield RuleViolation(
                    "layout.table.column-width",
                    f"column {column + 1} would be {share * _TEXT_WIDTH_MM:.1f} mm wide ({share:.1%} of the table):"
                    f" every column is at least {MIN_COLUMN_WIDTH_MM:g} mm"
                    f" ({MIN_COLUMN_WIDTH_MM / _TEXT_WIDTH_MM:.1%} of the table width)",
                    (*location, "widths", column),
                )


_FIELD_TEXT = {("notation",), ("place",), ("doc_type_name",)}
"""Text that pyHanko draws after signing (number, date and annex reference lines), in its font subset."""


def _strings(value: object, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _describe(characters: str) -> str:
    return ", ".join(f"{c!r} (U+{ord(c):04X})" for c in characters)


def _check_characters(view: DocumentView) -> Iterator[RuleViolation]:
    """Every character must have a glyph in the embedded fonts; otherwise it would print as nothing.

    A Decree 30 document is set in one Times-metric face (Liberation Serif here): Chinese, Japanese or
    Korean characters, emoji or other scripts it lacks are refused rather than drawn from whatever
    font the server happens to have (not embedded in the archive copy) or dropped.
    """
    # The font module loads fontTools, HarfBuzz and pyHanko: a web process pays for them on the first
    # check, not at start-up (common.pdf.pool keeps the PDF stack out of the web processes).
    from common.pdf.fonts import FIELD_CODEPOINTS, missing_glyphs, page_codepoints

    page = page_codepoints()
    for path, text in _strings(view.model_dump(), ()):
        in_field = path in _FIELD_TEXT or (path[0] == "annexes" and path[-1] == "issued_by")
        missing = missing_glyphs(text, FIELD_CODEPOINTS if in_field else page)
        if missing:
            yield RuleViolation(
                "layout.text.unsupported-characters",
                f"the document's font (Liberation Serif, Times New Roman metrics) has no glyph for"
                f" {_describe(missing)}:"
                + (
                    " this text is drawn in the number, date or annex reference line, which holds Vietnamese"
                    " and Latin letters, digits and punctuation only"
                    if in_field
                    else " write the text without them, or send it as an attached file"
                ),
                path,
            )


def _check_order(blocks: Sequence[BodyBlock]) -> Iterator[RuleViolation]:
    """Authority line, then căn cứ, then the enacting word, then the articles."""
    rank = {"authority": 0, "basis": 1, "enactment": 2, "article": 3}
    once = {"authority", "enactment"}  # printed twice, they would read as two documents in one
    seen: set[str] = set()
    highest = -1
    for index, block in enumerate(blocks):
        position = rank.get(block.kind)
        if position is None:
            continue
        repeated = block.kind in once and block.kind in seen
        seen.add(block.kind)
        if position < highest or repeated:
            yield RuleViolation(
                "nd30.content.order",
                "the authority line comes first, then the căn cứ, then the enacting word, then the articles;"
                " the authority line and the enacting word appear once",
                ("body", index),
            )
        highest = max(highest, position)


def check_document(view: DocumentView) -> list[RuleViolation]:
    """Every Decree 30 rule the document breaks (empty: none).

    Rules of the document's type apply when ``view.doc_type`` is one of :data:`TYPE_RULES`;
    the rules on articles, clauses, points, order and signing authority apply to every document.

    Args:
        view: The document.

    Returns:
        The violations, in document order.
    """
    found: list[RuleViolation] = []
    rules = TYPE_RULES.get(view.doc_type or "")
    kinds = [block.kind for block in view.body]
    authority = next((block.text for block in view.body if block.kind == "authority"), None)
    if rules is not None:
        slug = _slug(rules.code)
        if rules.code == "CV" and not view.subject.removeprefix("V/v").strip():
            found.append(
                RuleViolation("nd30.cong-van.subject-required", "a công văn states its subject (V/v …)", ("subject",))
            )
        if rules.addressee_required and not view.addressees:
            found.append(
                RuleViolation(
                    f"nd30.{slug}.addressee-required",
                    f"a {rules.code} names its addressees (Kính gửi)",
                    ("addressees",),
                )
            )
        if rules.basis_required and "basis" not in kinds:
            found.append(
                RuleViolation(
                    f"nd30.{slug}.basis-required", f"a {rules.code} states its legal bases (căn cứ)", ("body",)
                )
            )
        if rules.enactment is not None:
            words = [(index, block.text) for index, block in enumerate(view.body) if block.kind == "enactment"]
            if not words:
                found.append(
                    RuleViolation(
                        f"nd30.{slug}.enactment-required",
                        f"a {rules.code} has the centred enacting word {rules.enactment}:",
                        ("body",),
                    )
                )
            for index, word in words:
                if word != rules.enactment:
                    found.append(
                        RuleViolation(
                            f"nd30.{slug}.enactment-word",
                            f"the enacting word of a {rules.code} is {rules.enactment}:, not {word}:",
                            ("body", index, "text"),
                        )
                    )
        if rules.articles_required and "article" not in kinds:
            found.append(
                RuleViolation(
                    f"nd30.{slug}.articles-required", f"a {rules.code} is made of articles (Điều 1. …)", ("body",)
                )
            )
        if rules.enactment is not None and authority is None:
            found.append(
                RuleViolation(
                    f"nd30.{slug}.authority-required",
                    f"a {rules.code} names its enacting authority before the căn cứ",
                    ("body",),
                )
            )
        found.extend(_check_signing(view, rules, authority))
        for index, annex in enumerate(view.annexes):
            if annex.kind == "regulation" and not rules.regulations_allowed:
                found.append(
                    RuleViolation(
                        "nd30.regulation.issued-by-decision",
                        "a quy chế or quy định is issued by a quyết định or nghị quyết, not by a " + rules.code,
                        ("annexes", index),
                    )
                )
    if view.doc_type in STANDALONE_REGULATIONS:
        found.append(
            RuleViolation(
                "nd30.regulation.issued-by-decision",
                "a quy chế or quy định is not issued alone: attach it as an annex (kind regulation) of the"
                " quyết định or nghị quyết that issues it",
                ("doc_type",),
            )
        )
    found.extend(_check_order(view.body))
    found.extend(_check_articles(view.body, ("body",)))
    found.extend(_check_blocks(view.body, ("body",)))
    for index, annex in enumerate(view.annexes):
        found.extend(_check_annex(annex, index))
    found.extend(_check_characters(view))
    found.extend(_check_signature(view.signature, "signature"))
    if view.second_signature is not None:
        found.extend(_check_signature(view.second_signature, "second_signature"))
    return found


def _check_annex(annex: Annex, index: int) -> Iterator[RuleViolation]:
    if annex.kind == "regulation" and (annex.type_name or "QUY CHẾ").upper() not in ("QUY CHẾ", "QUY ĐỊNH"):
        yield RuleViolation(
            "nd30.regulation.type", "an attached regulation is a QUY CHẾ or a QUY ĐỊNH", ("annexes", index, "type_name")
        )
    yield from _check_articles(annex.body, ("annexes", index, "body"))
    yield from _check_blocks(annex.body, ("annexes", index, "body"))


def _check_signing(view: DocumentView, rules: TypeRules, authority: str | None) -> Iterator[RuleViolation]:
    slug = _slug(rules.code)
    prefix = _prefix(view.signature)
    collective: bool | None = None
    if rules.signing == "collective":
        collective = True
    elif rules.signing == "individual":
        collective = False
    elif rules.signing == "by-authority" and authority is not None:
        collective = _is_collective(authority)
    if collective is True and prefix != "TM.":
        yield RuleViolation(
            f"nd30.{slug}.collective-signing",
            "the collective decides: the signature reads TM. <body> over the signer's title",
            ("signature", "authority_lines", 0),
        )
    if collective is False and prefix == "TM.":
        yield RuleViolation(
            f"nd30.{slug}.individual-signing",
            "an individual's decision is signed by the head (or KT./Q.), not TM. a collective",
            ("signature", "authority_lines", 0),
        )
    if rules.signing == "two-signers" and view.second_signature is None:
        yield RuleViolation(
            f"nd30.{slug}.two-signers",
            f"a {rules.code} is signed by two people: give the second signer's block",
            ("second_signature",),
        )
    if rules.signing != "two-signers" and view.second_signature is not None:
        yield RuleViolation(
            f"nd30.{slug}.single-signer",
            f"a {rules.code} is signed by one person: the second signer's block is for a BB or a GUQ",
            ("second_signature",),
        )
