"""Fixtures of the edXML tests.

``samples/`` holds byte-exact copies of the published VNPT SDK sample packages
(see ``samples/README.md``): the interoperability fixtures every parser change must keep reading.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest

from common.edxml import (
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentPackage,
    DocumentType,
    MessageHeader,
    Organization,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    TraceHeader,
    TraceHeaderList,
    XmlExtension,
)

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture
def read_sample() -> Callable[[str], bytes]:
    """Return a function reading a sample package by file name."""

    def read(name: str) -> bytes:
        return (SAMPLES / name).read_bytes()

    return read


def minimal_pdf() -> bytes:
    """A small but structurally valid PDF (binary marker line, one page, xref, trailer)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 770 Td (Cong van) Tj ET\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at)
    return bytes(out)


@pytest.fixture
def can_tho() -> Organization:
    """Văn phòng UBND TP Cần Thơ, as sender."""
    return CAN_THO


@pytest.fixture
def so_noi_vu() -> Organization:
    """A recipient."""
    return SO_NOI_VU


CAN_THO = Organization(
    organ_id="000.00.00.H13",
    organ_name="Văn phòng Ủy ban nhân dân thành phố Cần Thơ",
    organization_in_charge="Ủy ban nhân dân thành phố Cần Thơ",
    organ_add="Số 02 Hòa Bình, phường Ninh Kiều, thành phố Cần Thơ",
    email="vpubnd@cantho.gov.vn",
    telephone="0292 3820 000",
    fax="0292 3820 001",
    website="https://cantho.gov.vn",
)
SO_NOI_VU = Organization(
    organ_id="000.00.01.H13",
    organ_name="Sở Nội vụ thành phố Cần Thơ",
    organization_in_charge="Ủy ban nhân dân thành phố Cần Thơ",
)
SO_TAI_CHINH = Organization(organ_id="000.00.02.H13", organ_name="Sở Tài chính thành phố Cần Thơ")


@pytest.fixture
def pdf_bytes() -> bytes:
    """A PDF to attach."""
    return minimal_pdf()


@pytest.fixture
def document(pdf_bytes: bytes) -> DocumentPackage:
    """A complete new-document package with Vietnamese text, two recipients and a PDF."""
    header = MessageHeader(
        sender=CAN_THO,
        recipients=(SO_NOI_VU, SO_TAI_CHINH),
        code=Code(code_number="123", code_notation="VPUB-TTĐH"),
        promulgation_info=PromulgationInfo(place="Cần Thơ", promulgation_date=date(2025, 11, 5)),
        document_type=DocumentType(type=1, type_detail=0, type_name="Công văn"),
        subject="V/v triển khai thực hiện chế độ báo cáo định kỳ năm 2025",
        content="Ủy ban nhân dân thành phố đề nghị các sở, ngành khẩn trương thực hiện.\nHạn: 20/11/2025.",
        signer_info=SignerInfo(
            competence="KT. CHÁNH VĂN PHÒNG", position="PHÓ CHÁNH VĂN PHÒNG", full_name="Trần Thị Ánh"
        ),
        due_date=date(2025, 11, 20),
        to_places=("Như trên", "Lưu: VT, TTĐH"),
        other_info=OtherInfo(
            priority=2,
            sphere_of_promulgation="Liên thông văn bản quốc gia",
            typer_notation="TTĐH",
            promulgation_amount=5,
            page_amount=3,
            direction=False,
            appendixes=("Phụ lục I: Danh mục báo cáo",),
            extensions=(XmlExtension(name="ReferenceCodes", text="45/UBND-KT"),),
        ),
        response_for=(
            ResponseFor(
                organ_id="000.00.00.G22",
                code="7816/VPCP-TTĐT",
                promulgation_date=date(2025, 10, 30),
                document_id="000.00.00.G22,2025/10/30,7816/VPCP-TTĐT",
            ),
            ResponseFor(organ_id="000.00.01.H13", code="88/SNV-VP", document_id="000.00.01.H13,2025/10/01,88/SNV-VP"),
        ),
        steering_type=1,
        extensions=(
            XmlExtension(
                name="ResponseForTask",
                attributes=(("kind", "task"),),
                children=(XmlExtension(name="TaskCode", text="NV-2025-001"),),
            ),
        ),
    )
    return DocumentPackage(
        header=header.model_copy(update={"document_id": "000.00.00.H13,2025/11/05,123/VPUB-TTĐH"}),
        trace_header_list=TraceHeaderList(
            trace_headers=(TraceHeader(organ_id="000.00.00.H13", timestamp=datetime(2025, 11, 5, 9, 30, 12)),),
            business=Business(
                business_doc_type=BusinessDocType.NEW,
                business_doc_reason="Văn bản điện tử mới",
                paper=0,
                staff_info=StaffInfo(
                    department="Phòng Hành chính - Tổ chức",
                    staff="Nguyễn Văn Thư",
                    email="vanthu@cantho.gov.vn",
                    mobile="0901234567",
                ),
            ),
        ),
        attachments=(
            Attachment(
                content_id="cv-123-2025",
                attachment_name="123-VPUB-TTĐH.signed.pdf",
                description="Công văn số 123/VPUB-TTĐH (đã ký số)",
                content_type="application/pdf",
                content=pdf_bytes,
            ),
        ),
    )
