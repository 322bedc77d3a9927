"""Every published sample package parses, with its field values."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest

from common.edxml import (
    BusinessDocType,
    DocumentPackage,
    EdxmlError,
    EdxmlErrorCode,
    NoteCode,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    StaffInfo,
    StatusCode,
    StatusPackage,
    parse_document_package,
    parse_package,
    parse_status_package,
)

SAMPLES = Path(__file__).parent / "samples"
SUBJECT = "V/v kết nối, liên thông phần mềm quản lý văn bản"
VPCP_DOC_ID = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"

Reader = Callable[[str], bytes]


def _note_codes(package: DocumentPackage | StatusPackage) -> set[str]:
    return {note.code for note in package.notes}


def test_every_sample_file_is_covered() -> None:
    names = {path.name for path in SAMPLES.glob("*.edxml")}
    assert len(names) == 15
    for name in names:
        package = parse_package((SAMPLES / name).read_bytes())
        expected = StatusPackage if name.startswith("status") else DocumentPackage
        assert isinstance(package, expected), name


# --- status packages -----------------------------------------------------------------------

STATUS_FILES = [
    ("status_inbox_01.edxml", StatusCode.INBOX, "Văn thư - Phòng Văn thư - Lưu trữ: Đã đến - Phần mềm QLVB đã nhận"),
    ("status_rejection_02.edxml", StatusCode.REJECTION, "Văn thư - Phòng Văn thư - Lưu trữ: Từ chối không tiếp nhận"),
    ("status_acceptance_03.edxml", StatusCode.ACCEPTANCE, "Văn thư cơ - Phòng Văn thư - Lưu trữ: Tiếp nhận văn bản"),
    ("status_assignment_04.edxml", StatusCode.ASSIGNMENT, "Lãnh đạo: Phân công xử lý"),
    ("status_processing_05.edxml", StatusCode.PROCESSING, "Đang xử lý văn bản đến"),
    ("status_finish_06.edxml", StatusCode.FINISH, "Văn thư: Ban hành văn bản đến, hoàn thành xử lý"),
    ("status_cancellation_13.edxml", StatusCode.RECALL_REQUEST, "Văn thư yêu cầu lấy lại văn bản điện tử kèm lý do"),
    ("status_change-acceptance_15.edxml", StatusCode.CHANGE_ACCEPTED, "Văn thư đồng ý yêu cầu cập nhật, lấy lại"),
    ("status_change-rejection_16.edxml", StatusCode.CHANGE_REJECTED, "Văn thư từ chối yêu cầu cập nhật, lấy lại"),
]


@pytest.mark.parametrize(("name", "code", "description_start"), STATUS_FILES)
def test_status_samples(name: str, code: StatusCode, description_start: str, read_sample: Reader) -> None:
    package = parse_status_package(read_sample(name))
    assert package.status_code == name.rsplit("_", 1)[1].removesuffix(".edxml") == code.value
    assert package.known_status is code
    assert package.description is not None
    assert package.description.startswith(description_start)
    assert package.timestamp == datetime(2015, 9, 20, 11, 8, 36)
    recall = code is StatusCode.RECALL_REQUEST  # sent by the original sender, the others by the receiver
    assert package.sender.organ_id == ("000.00.00.G22" if recall else "000.00.00.H41")
    assert package.sender.organ_name == ("Văn phòng Chính phủ" if recall else "UBND Tỉnh Nghệ An")
    assert package.sender.website == ("vpcp.vn" if recall else "www.nghean.vn")
    assert package.response_for == (
        ResponseFor(
            organ_id="000.00.00.H41" if recall else "000.00.00.G22",
            code="7816/VPCP-TTĐT",
            promulgation_date=date(2015, 9, 30),
            document_id=VPCP_DOC_ID,
        ),
    )
    assert package.target.document_id == VPCP_DOC_ID
    assert package.staff_info == StaffInfo(
        department="Phong hanh chinh", staff="Nguyen thi ngoc tram", email="ngoctram@nghean.vn", mobile="84912000001"
    )
    assert package.notes == ()


def test_generic_status_sample(read_sample: Reader) -> None:
    package = parse_status_package(read_sample("status.edxml"))
    assert package.known_status is StatusCode.INBOX
    assert package.sender.organization_in_charge == "UBND Tỉnh Nghệ An"
    assert package.sender.organ_add == "Số 03, đường Trường Thi, Thành phố Vinh, Tỉnh Nghệ An, Việt Nam"
    assert package.target == ResponseFor(
        organ_id="000.00.00.G22", code="7816/VPCP-TTĐT", promulgation_date=date(2018, 9, 28), document_id=VPCP_DOC_ID
    )
    assert package.staff_info is not None
    assert package.staff_info.staff == "Nguyễn Thị Ngọc Trâm"
    assert package.timestamp == datetime(2018, 9, 28, 17, 25, 11)


# --- document packages -----------------------------------------------------------------------

BIG_SAMPLES = {
    # name: (sha256 of the decoded attachment, file inside the zip)
    "edoc_new.edxml": (
        "7ab7c43a02a3cf2cedd14ebf2545a37e7a1307e0091b4ba94c2ef1e842a763aa",
        "32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml",
    ),
    "edoc_update.edxml": (
        "51653b9613f7f0275b43f80704033299740c702f354f44a06f55770cfbb0b135",
        "3ed3cc90-1dcb-4382-9725-1de9cd899790.edxml",
    ),
    "edoc_revocation.edxml": (
        "22100d39101238b750bc39a24ff6994cb2c0cf08f4edbf5f3c34d4700857d378",
        "a3661564-bcbb-4406-a6a9-ceddbc8f4e17.edxml",
    ),
    "edoc_replacement.edxml": (
        "57634d6539d79c5935c12fabd7d8fa513d81d84a5fad4c82258a31ffa741aba5",
        "30d190ec-60e3-41b6-bda7-50b17d98b35d.edxml",
    ),
}


@pytest.mark.parametrize("name", sorted(BIG_SAMPLES))
def test_big_samples_common_fields_and_attachment(name: str, read_sample: Reader) -> None:
    package = parse_document_package(read_sample(name))
    header = package.header
    assert header.document_id == VPCP_DOC_ID
    assert header.subject == SUBJECT
    assert header.content == SUBJECT
    assert header.code is not None
    assert header.code.code_notation == "VPCP-TTĐT"
    assert header.promulgation_info is not None
    assert header.promulgation_info.place == "Hà Nội"
    assert header.document_type is not None
    assert (header.document_type.type, header.document_type.type_detail) == (1, 0)
    assert header.document_type.type_name == "Công văn"
    assert header.signer_info is not None
    assert header.signer_info.competence == "TL. BO TRUONG"
    assert header.signer_info.full_name == "Nguyen Thanh Phuc"
    assert header.due_date == date(2018, 9, 28)
    assert header.steering_type == 1
    assert header.to_places == ("Cac bo va co quan ngang bo", "Uy ban nhan dan cac tinh, TP")
    other = header.other_info
    assert other is not None
    assert (other.priority, other.promulgation_amount, other.page_amount, other.direction) == (0, 2, 22, False)
    assert other.sphere_of_promulgation == "Liên thông văn bản quốc gia"
    assert other.typer_notation == "TVC"
    assert other.appendixes == ("Công văn về việc kết nối, liên thông phần mềm quản lý văn bản",)
    trace = package.trace_header_list
    assert [(t.organ_id, t.timestamp) for t in trace.trace_headers] == [
        ("000.00.00.G22", datetime(2018, 9, 28, 0, 0, 0))
    ]
    assert trace.business is not None
    assert trace.business.paper == 0
    assert trace.business.staff_info == StaffInfo(
        department="Văn thư văn phòng",
        staff="Nguyễn Thị Ngọc Trâm",
        email="vanthuvanphong@gov.vn",
        mobile="84912000001",
    )
    assert package.signature is not None
    assert package.signature.signature_method == "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    assert package.signature.digest_value == "FwgIqsSYJshUS2+wlOM61L+q7Aw="
    assert package.signature.x509_subject_name == "CN=user05"
    [attachment] = package.attachments
    assert attachment.content_id == "209"
    assert attachment.attachment_name == attachment.description == "1896_QD-TTg_m_294779.doc"
    assert attachment.content_type == "application/zip"
    assert attachment.content is not None
    assert len(attachment.content) == 270_823
    digest, inner_name = BIG_SAMPLES[name]
    assert hashlib.sha256(attachment.content).hexdigest() == digest
    with zipfile.ZipFile(io.BytesIO(attachment.content)) as archive:
        assert archive.namelist() == [inner_name]
        assert archive.getinfo(inner_name).file_size == 388_347
    # the sample DocumentId names another document than From/PromulgationDate/Code: reported, not refused
    assert NoteCode.DOCUMENT_ID_MISMATCH in _note_codes(package)


def test_edoc_new(read_sample: Reader) -> None:
    data = read_sample("edoc_new.edxml")
    assert data.startswith(b"1212<?xml")
    package = parse_document_package(data)
    header = package.header
    assert package.business_doc_type is BusinessDocType.NEW
    assert header.sender.organ_id == "002.00.20.H13"
    assert header.sender.organ_name == "UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng"
    [recipient] = header.recipients
    assert recipient.organ_id == "28.22.H17"
    assert recipient.organization_in_charge == "UBND xã Hòa Sơn - UBND huyện Hòa Vang - Thành phố Đà Nẵng"
    assert recipient.telephone == "(84-4) 3821 5137"
    assert header.code is not None
    assert header.code.code_number == "74fass22"
    assert header.code.text == "74fass22/VPCP-TTĐT"
    assert header.promulgation_info is not None
    assert header.promulgation_info.promulgation_date == date(2019, 1, 16)
    assert header.response_for == ()
    business = package.trace_header_list.business
    assert business is not None
    assert business.document_id == "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"
    assert business.business_doc_reason == "Văn bản điện tử mới"
    notes = {note.code: note.message for note in package.notes}
    assert "1212" in notes[NoteCode.LEADING_JUNK_SKIPPED]
    assert "28.22.H17" in notes[NoteCode.ORGAN_ID_FORMAT]
    assert "74fass22" in notes[NoteCode.CODE_NUMBER_NOT_NUMERIC]


def test_edoc_update(read_sample: Reader) -> None:
    package = parse_document_package(read_sample("edoc_update.edxml"))
    assert package.business_doc_type is BusinessDocType.UPDATE
    assert [r.organ_id for r in package.header.recipients] == ["000.00.00.H41", "000.00.00.H14", "000.00.00.G17"]
    assert package.header.recipients[1].organ_name == "UBND Tỉnh Cao Bằng"
    assert package.header.code is not None
    assert package.header.code.code_number == "7816"
    business = package.trace_header_list.business
    assert business is not None
    assert business.business_doc_reason == "Cập nhật văn bản điện tử"
    assert business.document_id == "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"
    info = business.business_document_info
    assert info is not None
    assert (info.document_info, info.document_receiver) == (1, 1)
    assert info.receivers == (
        Receiver(organ_id="000.00.00.H41", receiver_type=0),
        Receiver(organ_id="000.00.00.H14", receiver_type=1),
    )


def test_edoc_revocation(read_sample: Reader) -> None:
    package = parse_document_package(read_sample("edoc_revocation.edxml"))
    assert package.business_doc_type is BusinessDocType.REVOKE
    business = package.trace_header_list.business
    assert business is not None
    assert business.business_doc_reason == "Thu hồi văn bản điện tử"
    assert business.document_id is None
    assert package.header.response_for == (
        ResponseFor(
            organ_id="000.00.00.H14",
            code="267/VPCP-TTĐT",
            promulgation_date=date(2018, 9, 28),
            document_id="000.00.04.G14,2012/08/06,267/VPCP-TTĐT",
        ),
    )


def test_edoc_replacement(read_sample: Reader) -> None:
    package = parse_document_package(read_sample("edoc_replacement.edxml"))
    assert package.business_doc_type is BusinessDocType.REPLACE
    business = package.trace_header_list.business
    assert business is not None
    assert business.business_doc_reason == "Văn bản thay thế"
    replaced = ReplacementInfo(
        document_id="000.00.00.G22,2014/01/30,7806/VPCP-TTĐT", organ_ids=("000.00.00.H41", "000.00.00.H14")
    )
    assert business.replacement_info_list == (replaced, replaced)


def test_edoc_with_undeclared_prefixes_and_placeholder_payload(read_sample: Reader) -> None:
    package = parse_document_package(read_sample("edoc.edxml"))
    header = package.header
    assert header.document_id == "9fbfbad2-f1f8-4256-a2eb-50fb1061cddb"
    assert header.sender.organ_id == "002.00.20.H13"
    assert header.sender.organ_name == "Văn phòng Chính phủ"
    [recipient] = header.recipients
    assert recipient.organ_id == "000.00.15.H51"
    assert recipient.organization_in_charge is None
    assert header.code is not None
    assert header.code.text == "12234555512/PRO-TEST-CASE1"
    assert header.promulgation_info is not None
    assert header.promulgation_info.promulgation_date == date(2019, 1, 17)
    assert header.document_type is not None
    assert header.document_type.type_name == "Thông tư"
    assert header.document_type.type_detail is None
    assert header.subject == "Văn bản liên thông chỉ đạo - 190701"
    assert header.content == "test gửi liên thông vpcp"
    assert header.signer_info is not None
    assert header.signer_info.full_name == "Trương Minh Tuấn"
    assert header.due_date == date(2018, 6, 25)
    assert header.to_places == ("Các bộ",)
    assert header.other_info is not None
    assert header.other_info.sphere_of_promulgation == "Lưu hành nội bộ"
    assert header.other_info.appendixes == ("Phụ lục",)
    assert header.other_info.direction is None
    assert header.response_for == ()  # the only live ResponseFor is empty; the other is commented out
    assert package.business_doc_type is BusinessDocType.NEW  # no Bussiness element at all
    assert package.trace_header_list.business is None
    assert package.trace_header_list.trace_headers[0].organ_id == "01.02.G22"
    assert package.signature is not None  # in the xmldsig namespace in this sample
    assert package.signature.digest_value == "PrlYKdD8sksgnxFvUVtPIQ0pAqM="
    [attachment] = package.attachments
    assert attachment.content_id == "36b8a92e-f054-11e7-842b-005056b672fc"
    assert attachment.attachment_name == "GUIDE_INSTALL OPENVPN.SIGNED.PDF"
    assert attachment.description == "Description 1"  # only in the manifest Reference
    assert attachment.content_type == "application/pdf"  # only in AttachmentEncoded
    assert attachment.content is None  # the payload is a JMeter placeholder, not base64
    assert _note_codes(package) >= {
        NoteCode.UNDECLARED_PREFIX,
        NoteCode.EMPTY_RESPONSE_FOR,
        NoteCode.DOCUMENT_ID_FORMAT,
        NoteCode.ORGAN_ID_FORMAT,
        NoteCode.ATTACHMENT_NOT_BASE64,
    }


def test_specific_parsers_refuse_the_other_package_type(read_sample: Reader) -> None:
    with pytest.raises(EdxmlError) as caught:
        parse_document_package(read_sample("status.edxml"))
    assert caught.value.code is EdxmlErrorCode.UNEXPECTED_PACKAGE_TYPE
    with pytest.raises(EdxmlError) as caught:
        parse_status_package(read_sample("edoc.edxml"))
    assert caught.value.code is EdxmlErrorCode.UNEXPECTED_PACKAGE_TYPE
