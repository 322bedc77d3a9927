"""Shared fixtures: the seed letter of VPUB Cần Thơ, rendered, signed, numbered and sealed once."""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.timestamps import TimeStamper

from common.pdf.dev_pki import DevPki, ensure_dev_pki
from common.pdf.model import DocumentView, Heading, Paragraph, QrBlock, SignatureBlock
from common.pdf.render import RenderedPdf, render_pdf
from common.pdf.signing import fill_and_seal, sign_as_signer
from common.pdf.text import format_date_line, format_number

SEED_FILE = Path(__file__).parent / "data" / "cong-van-vpub-ttdh-2025-11.txt"
FACEBOOK_URL = "https://www.facebook.com/congthongtincantho"
ZALO_URL = "https://zalo.me/3460461954401350861"
VERIFICATION_URL = "https://vanban.cantho.gov.vn/xac-thuc/VPUB-TTDH-2026-0001"
ISSUE_DATE = dt.date(2026, 11, 27)


def build_seed_view(**changes: object) -> DocumentView:
    """Build the view-model of the seed letter (all text taken from the seed file)."""
    fields: dict[str, object] = {
        "parent_body": "UBND THÀNH PHỐ CẦN THƠ",
        "issuer_name": "VĂN PHÒNG",
        "notation": "VPUB-TTĐH",
        "number": None,
        "place": "Cần Thơ",
        "issued_date": None,
        "draft_month": 11,
        "draft_year": 2025,
        "subject": (
            "tăng cường theo dõi, chia sẻ, phổ biến Kênh thông tin chính thức của Cổng Thông tin "
            "điện tử thành phố Cần Thơ trên mạng xã hội Facebook, Zalo"
        ),
        "addressees": (
            "Sở, ban ngành thành phố",
            "Các tổ chức chính trị - xã hội",
            "Ủy ban nhân dân xã, phường",
        ),
        "body": (
            Paragraph(
                text=(
                    "Nhằm phát huy hiệu quả vai trò của mạng xã hội trong công tác tuyên truyền, quảng bá "
                    "hình ảnh thành phố Cần Thơ văn minh, hiện đại, thân thiện; đồng thời, kịp thời cung "
                    "cấp thông tin về chủ trương, chính sách của Đảng, pháp luật của Nhà nước, hoạt động "
                    "chỉ đạo, điều hành của lãnh đạo thành phố. Qua đó lan tỏa thông tin chính thống, tích "
                    "cực đến người dân, doanh nghiệp và cộng đồng, Văn phòng Ủy ban nhân dân thành phố đề "
                    "nghị Thủ trưởng các sở, ban ngành; các tổ chức chính trị - xã hội; Chủ tịch Ủy ban "
                    "nhân dân xã, phường quan tâm chỉ đạo triển khai thực hiện một số nội dung sau:"
                )
            ),
            Heading(text="1. Theo dõi và tương tác với kênh thông tin chính thức"),
            Paragraph(
                text=(
                    "Kênh thông tin chính thức của Cổng Thông tin điện tử thành phố Cần Thơ hiện được vận "
                    "hành trên các nền tảng mạng xã hội:"
                )
            ),
            QrBlock(
                label=(
                    "Mạng xã hội Facebook có tên Cổng Thông tin điện tử Cần Thơ, địa chỉ: "
                    f"{FACEBOOK_URL}; Mã QR truy cập trang thông tin:"
                ),
                url=FACEBOOK_URL,
            ),
            QrBlock(
                label=f"Zalo OA có tên là Cổng TTĐT Cần Thơ, địa chỉ: {ZALO_URL}; Mã QR truy cập trang thông tin:",
                url=ZALO_URL,
            ),
            Paragraph(
                text=(
                    "Đề nghị cán bộ, công chức, viên chức, người lao động, hội viên, đoàn viên, thanh niên, "
                    "học sinh, sinh viên trong đơn vị chủ động theo dõi (Follow), thích (Like), chia sẻ "
                    "(Share) và tương tác với các nội dung do kênh đăng tải, góp phần lan tỏa thông tin hữu "
                    "ích, chính xác, tạo hiệu ứng truyền thông tích cực trên môi trường mạng."
                )
            ),
            Heading(text="2. Phối hợp tuyên truyền, chia sẻ thông tin"),
            Paragraph(
                text=(
                    "Khi có các nội dung thông tin liên quan đến lĩnh vực, hoạt động của đơn vị được Cổng "
                    "Thông tin điện tử thành phố đăng tải, đề nghị phối hợp chia sẻ trên trang hoặc nhóm "
                    "mạng xã hội chính thức của cơ quan, đơn vị, địa phương (nếu có). Khuyến khích các đơn "
                    "vị thường xuyên giới thiệu, gắn liên kết đến kênh Facebook chính thức của Cổng Thông "
                    "tin điện tử thành phố Cần Thơ trên website, bản tin, Trang thông tin điện tử của đơn vị."
                )
            ),
            Paragraph(
                text=(
                    "Văn phòng Ủy ban nhân dân thành phố trân trọng đề nghị các sở, ban ngành thành phố; "
                    "các tổ chức chính trị - xã hội; Ủy ban nhân dân xã, phường quan tâm chỉ đạo, triển "
                    "khai thực hiện nghiêm túc, góp phần lan tỏa hiệu quả các thông tin chính thống, tích "
                    "cực, vì hình ảnh một thành phố Cần Thơ văn minh, hiện đại, thân thiện, phát triển./."
                )
            ),
        ),
        "signature": SignatureBlock(
            authority_lines=("KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG"),
            signer_name="Lê Xuân Hoa",
        ),
        "recipients": (
            "Như trên",
            "TT. Thành ủy",
            "TT. HĐND TP",
            "CT, các PCT UBND TP",
            "UB MTTQVN TP",
            "Đoàn ĐBQH & HĐND TP",
            "Ban Tuyên giáo và Dân vận TU",
            "Công an TP; Bộ CHQS TP",
            "VP UBND TP (2,3,4,5,6,7,8,9)",
            "Công TTĐT TP",
        ),
        "archive_line": "Lưu: VT.AN",
        "verification_url": VERIFICATION_URL,
    }
    fields.update(changes)
    return DocumentView.model_validate(fields)


@dataclass(frozen=True)
class SignedLetter:
    """The seed letter at each stage, with the time each stage took."""

    pki: DevPki
    view: DocumentView
    rendered: RenderedPdf
    signed: bytes
    sealed: bytes
    render_ms: float
    sign_ms: float
    seal_ms: float


@pytest.fixture(scope="session")
def seed_view() -> Callable[..., DocumentView]:
    """The builder of the seed letter's view-model; keyword arguments replace fields."""
    return build_seed_view


@pytest.fixture(scope="session")
def dev_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return ensure_dev_pki(tmp_path_factory.mktemp("dev-pki"))


@pytest.fixture(scope="session")
def timestamper(dev_pki: DevPki) -> TimeStamper:
    return dev_pki.timestamper()


@pytest.fixture(scope="session")
def signed_letter(dev_pki: DevPki, timestamper: TimeStamper) -> SignedLetter:
    view = build_seed_view()
    started = time.perf_counter()
    rendered = render_pdf(view, for_signing=True)
    render_ms = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    signed = sign_as_signer(
        rendered,
        dev_pki.load_signer(),
        signature_image=dev_pki.signature_png,
        timestamper=timestamper,
    )
    sign_ms = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    sealed = fill_and_seal(
        signed,
        dev_pki.load_seal(),
        seal_image=dev_pki.seal_png,
        number_text=format_number(1, view.notation),
        date_text=format_date_line(view.place, ISSUE_DATE),
        timestamper=timestamper,
    )
    seal_ms = (time.perf_counter() - started) * 1000
    return SignedLetter(
        pki=dev_pki,
        view=view,
        rendered=rendered,
        signed=signed,
        sealed=sealed,
        render_ms=render_ms,
        sign_ms=sign_ms,
        seal_ms=seal_ms,
    )


@pytest.fixture(scope="session")
def text_changed_letter(signed_letter: SignedLetter) -> bytes:
    """The issued letter with an incremental update that changes "UBND" into "VBND" on page 1."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_letter.sealed))
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    original = page["/Contents"].get_object().data
    first_glyph = re.search(rb"<([0-9a-f]{4})>", original)
    assert first_glyph is not None
    glyph = int(first_glyph.group(1), 16)
    changed = original.replace(first_glyph.group(), b"<%04x>" % (glyph + 1), 1)
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=changed))
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="session")
def byte_flipped_letter(signed_letter: SignedLetter) -> bytes:
    """The issued letter with one byte changed inside the signed range (the producer's name)."""
    data = bytearray(signed_letter.sealed)
    data[data.index(b"WeasyPrint", data.index(b"/Producer"))] = ord("X")
    return bytes(data)
