"""Decree 30 rules of common.pdf.rules: each violation found, named and located; valid fixtures pass."""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from doc_type_fixtures import fixtures

from common.pdf.dev_pki import DevPki
from common.pdf.model import (
    Annex,
    Article,
    Attachment,
    Basis,
    Chapter,
    Clause,
    DocumentView,
    Enactment,
    Paragraph,
    Part,
    Point,
    SignatureBlock,
    Table,
)
from common.pdf.render import render_pdf
from common.pdf.rules import check_document
from common.pdf.signing import fill_and_seal, sign_as_signer
from common.pdf.verify import verify_pdf

FIXTURES = fixtures()


def _rules(view: DocumentView) -> list[tuple[str, tuple[str | int, ...]]]:
    return [(v.rule, v.location) for v in check_document(view)]


def _changed(case: str, **update: Any) -> DocumentView:
    return FIXTURES[case].model_copy(update=update)


def test_a_decision_without_basis_enactment_articles_or_authority() -> None:
    assert _rules(_changed("QĐ", body=(Paragraph(text="Thành lập Tổ công tác."),))) == [
        ("nd30.quyet-dinh.basis-required", ("body",)),
        ("nd30.quyet-dinh.enactment-required", ("body",)),
        ("nd30.quyet-dinh.articles-required", ("body",)),
        ("nd30.quyet-dinh.authority-required", ("body",)),
    ]


def test_the_enacting_word_of_a_resolution() -> None:
    body = tuple(Enactment(text="QUYẾT ĐỊNH") if b.kind == "enactment" else b for b in FIXTURES["NQ"].body)
    assert _rules(_changed("NQ", body=body)) == [("nd30.nghi-quyet.enactment-word", ("body", 2, "text"))]


def test_articles_clauses_and_points_are_numbered_in_order() -> None:
    body = (
        *FIXTURES["QĐ"].body[:3],
        Article(number=1, text="Một."),
        Article(text="Không số."),
        Article(number=4, text="Bốn."),
        Article(
            number=5,
            clauses=(
                Clause(
                    number=1, text="Khoản một:", points=(Point(letter="a", text="a;"), Point(letter="c", text="c."))
                ),
                Clause(number=3, text="Khoản ba."),
            ),
        ),
    )
    assert _rules(_changed("QĐ", body=body)) == [
        ("nd30.article.number-required", ("body", 4)),
        ("nd30.article.numbering", ("body", 5, "number")),
        ("nd30.point.lettering", ("body", 6, "clauses", 0, "points", 1, "letter")),
        ("nd30.clause.numbering", ("body", 6, "clauses", 1, "number")),
    ]


def test_points_follow_the_vietnamese_alphabet() -> None:
    points = tuple(Point(letter=letter, text=f"{letter}.") for letter in "abcdđeg")
    body = (*FIXTURES["QĐ"].body[:3], Article(number=1, clauses=(Clause(number=1, text="Gồm:", points=points),)))
    assert _rules(_changed("QĐ", body=body)) == []
    wrong = tuple(Point(letter=letter, text=f"{letter}.") for letter in "abcdef")  # no đ, an f
    body = (*FIXTURES["QĐ"].body[:3], Article(number=1, clauses=(Clause(number=1, text="Gồm:", points=wrong),)))
    assert [rule for rule, _ in _rules(_changed("QĐ", body=body))] == ["nd30.point.lettering"] * 2


def test_content_order() -> None:
    qd = FIXTURES["QĐ"].body
    assert _rules(_changed("QĐ", body=(qd[1], qd[0], *qd[2:]))) == [("nd30.content.order", ("body", 1))]


def test_collective_and_individual_signing() -> None:
    individual = SignatureBlock(authority_lines=("CHỦ TỊCH",), signer_name="Đỗ Thanh Bình")
    assert _rules(_changed("NQ", signature=individual)) == [
        ("nd30.nghi-quyet.collective-signing", ("signature", "authority_lines", 0))
    ]
    # A quyết định of the collective ("ỦY BAN NHÂN DÂN …") is signed TM.; one of the chairman is not.
    assert _rules(_changed("QĐ-QC", signature=FIXTURES["QĐ"].signature)) == [
        ("nd30.quyet-dinh.collective-signing", ("signature", "authority_lines", 0))
    ]
    assert _rules(_changed("QĐ", signature=FIXTURES["QĐ-QC"].signature)) == [
        ("nd30.quyet-dinh.individual-signing", ("signature", "authority_lines", 0))
    ]
    assert _rules(_changed("CT", signature=FIXTURES["QĐ-QC"].signature)) == [
        ("nd30.chi-thi.individual-signing", ("signature", "authority_lines", 0))
    ]


def test_signing_prefixes() -> None:
    assert _rules(
        _changed("CV", signature=SignatureBlock(authority_lines=("KT. CHÁNH VĂN PHÒNG",), signer_name="A"))
    ) == [("nd30.signature.title-after-prefix", ("signature", "authority_lines"))]
    unknown = SignatureBlock(authority_lines=("K.T. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG"), signer_name="A")
    assert [rule for rule, _ in _rules(_changed("CV", signature=unknown))] == ["nd30.signature.prefix"]
    for prefix in ("TM.", "KT.", "TL.", "TUQ.", "Q."):
        lines = (f"{prefix} CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG")
        assert _rules(_changed("CV", signature=SignatureBlock(authority_lines=lines, signer_name="A"))) == []


def test_letters_reports_and_minutes() -> None:
    assert _rules(_changed("CV", subject="V/v")) == [("nd30.cong-van.subject-required", ("subject",))]
    assert _rules(_changed("CV", addressees=())) == [("nd30.cong-van.addressee-required", ("addressees",))]
    assert _rules(_changed("TTr", addressees=())) == [("nd30.to-trinh.addressee-required", ("addressees",))]
    assert _rules(_changed("BB", second_signature=None)) == [("nd30.bien-ban.two-signers", ("second_signature",))]
    assert _rules(_changed("GUQ", second_signature=None)) == [("nd30.giay-uy-quyen.two-signers", ("second_signature",))]
    # The left-hand block of a biên bản (thư ký) has no place on a document signed by one person.
    secretary = FIXTURES["BB"].second_signature
    assert _rules(_changed("QĐ", second_signature=secretary)) == [
        ("nd30.quyet-dinh.single-signer", ("second_signature",))
    ]
    assert _rules(_changed("CV", second_signature=secretary)) == [
        ("nd30.cong-van.single-signer", ("second_signature",))
    ]


def test_regulations_are_issued_by_a_decision() -> None:
    regulation = FIXTURES["QĐ-QC"].annexes
    assert _rules(_changed("CV", annexes=regulation)) == [("nd30.regulation.issued-by-decision", ("annexes", 0))]
    odd = (regulation[0].model_copy(update={"type_name": "HƯỚNG DẪN"}),)
    assert _rules(_changed("QĐ-QC", annexes=odd)) == [("nd30.regulation.type", ("annexes", 0, "type_name"))]
    skipping = (regulation[0].model_copy(update={"body": (Article(number=2, text="Hai."),)}),)
    assert _rules(_changed("QĐ-QC", annexes=skipping)) == [
        ("nd30.article.numbering", ("annexes", 0, "body", 0, "number"))
    ]

    # A quy chế or quy định is not a document of its own: it travels as the annex of its decision.
    for code in ("QC", "QyĐ"):
        alone = FIXTURES["CT"].model_copy(update={"doc_type": code})
        assert _rules(alone) == [("nd30.regulation.issued-by-decision", ("doc_type",))]


def test_a_lone_clause_or_point_is_unnumbered_or_numbered_first() -> None:
    def article(clause: Clause) -> DocumentView:
        return _changed("QĐ", body=(*FIXTURES["QĐ"].body[:3], Article(number=1, clauses=(clause,))))

    assert _rules(article(Clause(text="Khoản duy nhất."))) == []
    assert _rules(article(Clause(number=1, text="Khoản một.", points=(Point(letter="a", text="a."),)))) == []
    assert _rules(article(Clause(number=7, text="Khoản bảy."))) == [
        ("nd30.clause.numbering", ("body", 3, "clauses", 0, "number"))
    ]
    assert _rules(article(Clause(number=1, text="Gồm:", points=(Point(letter="b", text="b."),)))) == [
        ("nd30.point.lettering", ("body", 3, "clauses", 0, "points", 0, "letter"))
    ]


def test_the_authority_line_and_the_enacting_word_appear_once() -> None:
    qd = FIXTURES["QĐ"].body
    assert _rules(_changed("QĐ", body=(qd[0], qd[0], *qd[1:]))) == [("nd30.content.order", ("body", 1))]
    assert _rules(_changed("QĐ", body=(*qd[:3], qd[2], *qd[3:]))) == [("nd30.content.order", ("body", 3))]


def test_a_document_without_a_type_gets_the_general_rules_only() -> None:
    view = FIXTURES["QĐ"].model_copy(update={"doc_type": None, "body": (Paragraph(text="Nội dung."),)})
    assert _rules(view) == []


def test_tables_are_rectangular() -> None:
    with pytest.raises(ValueError, match="one per column"):
        Table(columns=("STT", "Tên"), rows=(("1", "A"), ("2",)))


def test_basis_punctuation_is_set_by_the_renderer() -> None:
    basis = Basis(items=("Căn cứ Luật A.", "Căn cứ Nghị định B;", "Theo đề nghị của C;"))
    view = _changed("QĐ", body=(*FIXTURES["QĐ"].body[:1], basis, *FIXTURES["QĐ"].body[2:]), annexes=())
    with pdfplumber.open(io.BytesIO(render_pdf(view).pdf)) as pdf:
        text = pdf.pages[0].extract_text() or ""
    lines = [line for line in text.splitlines() if line.startswith(("Căn cứ", "Theo đề nghị"))]
    assert lines == ["Căn cứ Luật A;", "Căn cứ Nghị định B;", "Theo đề nghị của C."]


def test_attachments_are_listed_with_size_and_hash() -> None:
    digest = "3f" * 32
    view = _changed("CV", attachments=(Attachment(name="bao-cao-quy-iv.pdf", sha256=digest, size=254_312),))
    with pdfplumber.open(io.BytesIO(render_pdf(view).pdf)) as pdf:
        page = pdf.pages[0]
        text = " ".join((page.extract_text() or "").split())
        title = next(w for w in page.extract_words(extra_attrs=["fontname"]) if w["text"] == "Tài")
    assert "Tài liệu kèm theo:" in text
    assert "1. bao-cao-quy-iv.pdf (248 KB; SHA-256:" in text
    assert digest in text.replace(" ", "")
    assert "Bold" in title["fontname"] and "Italic" in title["fontname"]
    assert text.index("Tài liệu kèm theo") < text.index("Nơi nhận")


def test_annex_pages_are_numbered_from_one_without_a_number_on_their_first_page() -> None:
    long_table = Table(columns=("STT", "Họ và tên"), rows=tuple((str(i), f"Người {i}") for i in range(1, 80)))
    view = _changed("QĐ", annexes=(Annex(title="Danh sách", body=(long_table,)), *FIXTURES["QĐ"].annexes))
    with pdfplumber.open(io.BytesIO(render_pdf(view).pdf)) as pdf:
        numbers = ["".join(c["text"] for c in page.chars if c["bottom"] < 20 * 72 / 25.4) for page in pdf.pages]
        labels = [
            " ".join(w["text"] for w in page.extract_words() if w["text"] in ("Phụ", "lục", "I", "II"))[:12]
            for page in pdf.pages
        ]
    first_annex = next(i for i, label in enumerate(labels) if label.startswith("Phụ lục I"))
    assert numbers[:first_annex] == ["", "2"][:first_annex]
    assert numbers[first_annex] == "" and numbers[first_annex + 1] == "2"  # annex I: 1 (unprinted), 2 …
    assert numbers[-1] == ""  # annex II starts again at 1
    assert labels[-1].startswith("Phụ lục II")


def _attachment_pdf() -> bytes:
    """A small, real PDF to attach (a one-page report)."""
    return render_pdf(FIXTURES["BC"]).pdf


def test_attachments_are_embedded_inside_both_signatures(dev_pki: DevPki, tmp_path: Path) -> None:
    data = _attachment_pdf()
    digest = hashlib.sha256(data).hexdigest()
    view = _changed(
        "CV", attachments=(Attachment(name="bao-cao-quy-iv.pdf", sha256=digest, size=len(data)),), annexes=()
    )
    rendered = render_pdf(view, for_signing=True, attachment_files={digest: data})
    signed = sign_as_signer(rendered, dev_pki.load_signer(), signature_image=dev_pki.signature_png)
    sealed = fill_and_seal(
        signed,
        dev_pki.load_seal(),
        seal_image=dev_pki.seal_png,
        number_text="05/VPUB-TTĐH",
        date_text="Cần Thơ, ngày 27 tháng 11 năm 2025",
    )
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed)
    listing = subprocess.run(["pdfdetach", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    assert listing.splitlines()[1:] == ["1: bao-cao-quy-iv.pdf"]
    subprocess.run(["pdfdetach", "-save", "1", "-o", str(tmp_path / "out.pdf"), str(path)], check=True)
    assert (tmp_path / "out.pdf").read_bytes() == data
    report = verify_pdf(sealed, [dev_pki.root_certificate()])
    assert len(report.signatures) == 2 and not report.altered
    assert all(s.intact and s.valid for s in report.signatures)
    assert report.signatures[0].modification == "form_filling"  # the embedded file was already signed


def test_an_attachment_whose_file_differs_from_its_hash_is_refused() -> None:
    data = _attachment_pdf()
    view = _changed("CV", attachments=(Attachment(name="a.pdf", sha256="0" * 64, size=len(data)),))
    with pytest.raises(ValueError, match="differs from its listed hash"):
        render_pdf(view, attachment_files={"0" * 64: data})
    with pytest.raises(ValueError, match="missing"):
        render_pdf(view, attachment_files={})


def test_parts_and_chapters_are_numbered_with_canonical_roman_numerals() -> None:
    regulation = FIXTURES["QĐ-QC"].annexes[0]
    for wrong in ("IIII", "VX", "IC", "XXXX", "IIX", "VV"):
        body = (Chapter(number=wrong, title="Quy định chung"), *regulation.body[1:])
        annexes = (regulation.model_copy(update={"body": body}),)
        assert _rules(_changed("QĐ-QC", annexes=annexes)) == [
            ("nd30.chapter.roman-number", ("annexes", 0, "body", 0, "number"))
        ], wrong
    body = (Part(number="IIII", title="Sự cần thiết"), *FIXTURES["ĐA"].body[1:])
    violations = check_document(_changed("ĐA", body=body))
    assert [(v.rule, v.location) for v in violations] == [("nd30.part.roman-number", ("body", 0, "number"))]
    assert "Phần IIII is not a Roman numeral" in violations[0].message
    for right in ("I", "IV", "IX", "XIV", "XL", "XC", "CCCXCIX"):
        body = (Part(number=right, title="Sự cần thiết"), *FIXTURES["ĐA"].body[1:])
        assert _rules(_changed("ĐA", body=body)) == [], right


def test_table_columns_have_a_minimum_width() -> None:
    table = FIXTURES["CTr"].body[3]
    assert isinstance(table, Table)
    body = list(FIXTURES["CTr"].body)
    body[3] = table.model_copy(update={"widths": (1, 1000, 1, 1)})
    violations = check_document(_changed("CTr", body=tuple(body)))
    assert [(v.rule, v.location) for v in violations] == [
        ("layout.table.column-width", ("body", 3, "widths", 0)),
        ("layout.table.column-width", ("body", 3, "widths", 2)),
        ("layout.table.column-width", ("body", 3, "widths", 3)),
    ]
    assert "column 1 would be 0.2 mm wide" in violations[0].message
    assert "at least 8 mm" in violations[0].message
    # The same rule inside an annex; a reasonable STT column (1:10) passes.
    annex = Annex(title="Danh sách", body=(Table(columns=("STT", "Tên"), rows=(("1", "A"),), widths=(1, 1000)),))
    assert _rules(_changed("CTr", annexes=(annex,))) == [
        ("layout.table.column-width", ("annexes", 0, "body", 0, "widths", 0))
    ]
    body[3] = table.model_copy(update={"widths": (1, 10, 5, 3)})
    assert _rules(_changed("CTr", body=tuple(body))) == []


def test_characters_the_embedded_fonts_cannot_draw_are_refused_and_listed() -> None:
    body = (Paragraph(text="Hội nghị với đối tác 漢字 và 😀 kết thúc./."), *FIXTURES["TB"].body[1:])
    violations = check_document(_changed("TB", body=body))
    assert [(v.rule, v.location) for v in violations] == [("layout.text.unsupported-characters", ("body", 0, "text"))]
    assert "'漢' (U+6F22), '字' (U+5B57), '😀' (U+1F600)" in violations[0].message
    # A control character is refused too; tabs and line breaks are laid out as spaces.
    table = Table(columns=("STT", "Tên"), rows=(("1", "A\x00B"), ("2", "dòng\nmới\tcột")))
    assert _rules(_changed("TB", body=(*FIXTURES["TB"].body, table))) == [
        ("layout.text.unsupported-characters", ("body", len(FIXTURES["TB"].body), "rows", 0, 1))
    ]
    # Greek, the euro sign and typographic quotes are in the page font (Liberation Serif) …
    assert _rules(_changed("TB", body=(Paragraph(text="Hệ số α = 5 € “trích dẫn” – hết./."),))) == []
    # … but the number, date and annex reference lines are drawn after signing in the Vietnamese
    # subset: the notation, the place and the annex's issuer must fit it.
    assert _rules(_changed("TB", notation="TB-UBND€", place="Cần Thơ α")) == [
        ("layout.text.unsupported-characters", ("notation",)),
        ("layout.text.unsupported-characters", ("place",)),
    ]
    annex = FIXTURES["QĐ"].annexes[0].model_copy(update={"issued_by": "Ủy ban nhân dân thành phố ☺"})
    assert _rules(_changed("QĐ", annexes=(annex,))) == [
        ("layout.text.unsupported-characters", ("annexes", 0, "issued_by"))
    ]
    # Every fixture (real Vietnamese text) passes.
    assert all(not _rules(view) for view in FIXTURES.values())
