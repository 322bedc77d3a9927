"""The seed letter of VPUB Cần Thơ as a view-model, and its issued (signed + sealed) PDF.

The view comes from the common.pdf test fixtures (``libs/common/tests/pdf/conftest.py``), the same
letter directive-api's ``view_of`` builds from the seed data.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchlib import ROOT

from common.pdf.dev_pki import DevPki
from common.pdf.model import DocumentView
from common.pdf.render import render_pdf
from common.pdf.signing import fill_and_seal, sign_as_signer
from common.pdf.text import format_date_line, format_number

FIXTURES = ROOT / "libs" / "common" / "tests" / "pdf" / "conftest.py"
ISSUE_DATE = dt.date(2026, 11, 27)


def build_seed_view() -> DocumentView:
    """The seed letter's view-model (final layout: verification QR, empty number and date fields)."""
    spec = importlib.util.spec_from_file_location("_bench_pdf_fixtures", FIXTURES)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    build: Callable[[], DocumentView] = module.build_seed_view
    return build()


TYPE_FIXTURES = ROOT / "libs" / "common" / "tests" / "pdf" / "doc_type_fixtures.py"


def build_decision_view() -> DocumentView:
    """A ten-page quyết định: the QĐ fixture of common.pdf's tests with 30 more articles, a 20-row
    table in the body and an appendix (its members' table), in the final layout."""
    from common.pdf.model import Article, Clause, Table

    spec = importlib.util.spec_from_file_location("_bench_type_fixtures", TYPE_FIXTURES)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    decision: DocumentView = module.fixtures()["QĐ"]
    head = decision.body[:4]  # authority line, căn cứ, QUYẾT ĐỊNH:, Điều 1.
    clause = (
        "Các cơ quan, đơn vị chủ động rà soát, cập nhật thông tin, bảo đảm kịp thời, chính xác, đúng quy "
        "định; phân công cán bộ theo dõi, tổng hợp và báo cáo kết quả thực hiện về Văn phòng Ủy ban nhân "
        "dân thành phố để tổng hợp, báo cáo Chủ tịch Ủy ban nhân dân thành phố."
    )
    articles = tuple(
        Article(
            number=number,
            title=f"Nhiệm vụ thứ {number - 1}",
            clauses=tuple(Clause(number=i, text=clause) for i in range(1, 4)),
        )
        for number in range(2, 24)
    )
    table = Table(
        columns=("STT", "Nhiệm vụ", "Cơ quan chủ trì", "Thời hạn"),
        rows=tuple(
            (
                str(i),
                f"Triển khai nội dung số {i} của Kế hoạch truyền thông",
                "Sở Văn hóa, Thể thao và Du lịch",
                "Quý IV",
            )
            for i in range(1, 21)
        ),
        widths=(1, 6, 4, 2),
    )
    last = Article(number=24, text="Quyết định này có hiệu lực kể từ ngày ký./.")
    return decision.model_copy(
        update={
            "body": (*head, *articles[:11], table, *articles[11:], last),
            "verification_url": decision.verification_url,
        }
    )


@dataclass(frozen=True)
class Issued:
    """The issued seed letter."""

    pdf: bytes
    page_count: int


def issue(view: DocumentView, pki: DevPki) -> Issued:
    """The whole issue pipeline: render (WeasyPrint + QR + fields), sign as the signer, fill number/date, seal.

    No RFC 3161 timestamp (directive-api's embedded default now adds the development TSA's: this
    measures the PDF work alone, without the timestamp).
    """
    rendered = render_pdf(view, for_signing=True)
    signed = sign_as_signer(rendered, pki.load_signer(), signature_image=pki.signature_png)
    sealed = fill_and_seal(
        signed,
        pki.load_seal(),
        seal_image=pki.seal_png,
        number_text=format_number(1, view.notation),
        date_text=format_date_line(view.place, ISSUE_DATE),
    )
    return Issued(sealed, rendered.page_count)


def template_dir() -> Path:
    """Where common.pdf keeps document.html.j2 and document.css."""
    import common.pdf.render as render_module

    return Path(render_module.__file__).parent / "templates"
