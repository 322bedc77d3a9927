# ruff: noqa: E501  (fixture prose: a paragraph per line reads and diffs better than split strings)
"""One realistic document of every text type of Decree 30 Phụ lục III, issued in Cần Thơ.

Names of bodies and places are real (the city after 1 July 2025); people and figures are invented.
"""

from __future__ import annotations

from typing import Any

from common.pdf.model import (
    Annex,
    Article,
    Authority,
    Basis,
    Chapter,
    Clause,
    DocumentView,
    Enactment,
    Heading,
    ListBlock,
    Paragraph,
    Part,
    Point,
    Section,
    SignatureBlock,
    Table,
)

UBND = {"parent_body": None, "issuer_name": "ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ"}
VPUB = {"parent_body": "UBND THÀNH PHỐ CẦN THƠ", "issuer_name": "VĂN PHÒNG"}
CHAIRMAN = SignatureBlock(authority_lines=("CHỦ TỊCH",), signer_name="Trương Cảnh Tuyên")
VICE_CHAIRMAN = SignatureBlock(authority_lines=("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"), signer_name="Nguyễn Thực Hiện")
COLLECTIVE = SignatureBlock(authority_lines=("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"), signer_name="Trương Cảnh Tuyên")
CHIEF = SignatureBlock(authority_lines=("CHÁNH VĂN PHÒNG",), signer_name="Nguyễn Trọng Sơn")
DEPUTY = SignatureBlock(authority_lines=("KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG"), signer_name="Lê Xuân Hoa")
BY_ORDER = SignatureBlock(authority_lines=("TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG"), signer_name="Nguyễn Trọng Sơn")
VERIFY = "https://vanban.cantho.gov.vn/xac-thuc/"

LAW = "Căn cứ Luật Tổ chức chính quyền địa phương ngày 16 tháng 6 năm 2025"
DECREE_30 = "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư"
MEMBERS = tuple(
    (str(i), name, unit)
    for i, (name, unit) in enumerate(
        [
            ("Nguyễn Văn An", "Văn phòng UBND thành phố"),
            ("Trần Thị Bình", "Sở Văn hóa, Thể thao và Du lịch"),
            ("Lê Hoàng Cường", "Sở Khoa học và Công nghệ"),
            ("Phạm Ngọc Diệp", "Sở Nội vụ"),
            ("Huỳnh Văn Đức", "Công an thành phố"),
            ("Võ Thị Hạnh", "Ủy ban nhân dân phường Ninh Kiều"),
        ],
        start=1,
    )
)


def _view(case: str, **fields: Any) -> DocumentView:
    base: dict[str, Any] = {
        **UBND,
        "place": "Cần Thơ",
        "draft_month": 11,
        "draft_year": 2025,
        "recipients": ("Như trên", "CT, các PCT UBND TP"),
        "archive_line": "Lưu: VT, TTĐH.",
        "verification_url": VERIFY + case,
    }
    base.update(fields)
    return DocumentView.model_validate(base)


def fixtures() -> dict[str, DocumentView]:
    """Every type, keyed by a case name (the type's abbreviation, ``QĐ-QC`` for a regulation)."""
    return {
        "NQ": _view(
            "NQ",
            issuer_name="HỘI ĐỒNG NHÂN DÂN THÀNH PHỐ CẦN THƠ",
            notation="NQ-HĐND",
            doc_type="NQ",
            doc_type_name="NGHỊ QUYẾT",
            subject="Về việc thông qua Đề án phát triển Kênh thông tin chính thức của thành phố",
            body=(
                Authority(text="HỘI ĐỒNG NHÂN DÂN THÀNH PHỐ CẦN THƠ KHÓA X, KỲ HỌP THỨ BA"),
                Basis(items=(LAW, "Xét Tờ trình số 210/TTr-UBND của Ủy ban nhân dân thành phố")),
                Enactment(text="QUYẾT NGHỊ"),
                Article(number=1, text="Thông qua Đề án phát triển Kênh thông tin chính thức của thành phố."),
                Article(number=2, text="Giao Ủy ban nhân dân thành phố tổ chức thực hiện Nghị quyết này./."),
            ),
            signature=SignatureBlock(
                authority_lines=("TM. HỘI ĐỒNG NHÂN DÂN", "CHỦ TỊCH"), signer_name="Đỗ Thanh Bình"
            ),
            recipients=("UBTVQH", "Chính phủ", "TT. Thành ủy"),
            archive_line="Lưu: VT.",
        ),
        "QĐ": _view(
            "QĐ",
            notation="QĐ-UBND",
            doc_type="QĐ",
            doc_type_name="QUYẾT ĐỊNH",
            subject="Về việc thành lập Tổ công tác Kênh thông tin chính thức",
            body=(
                Authority(text="CHỦ TỊCH ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ"),
                Basis(items=(LAW, DECREE_30, "Theo đề nghị của Chánh Văn phòng Ủy ban nhân dân thành phố")),
                Enactment(),
                Article(
                    number=1,
                    text="Thành lập Tổ công tác Kênh thông tin chính thức, gồm các thành viên tại Phụ lục kèm theo.",
                ),
                Article(
                    number=2,
                    title="Nhiệm vụ của Tổ công tác",
                    clauses=(
                        Clause(
                            number=1,
                            text="Tham mưu Chủ tịch Ủy ban nhân dân thành phố:",
                            points=(
                                Point(letter="a", text="Kế hoạch truyền thông hằng năm;"),
                                Point(letter="b", text="Phương án xử lý thông tin sai sự thật."),
                            ),
                        ),
                        Clause(number=2, text="Báo cáo kết quả hoạt động hằng quý."),
                    ),
                ),
                Article(
                    number=3,
                    text=(
                        "Chánh Văn phòng Ủy ban nhân dân thành phố, Giám đốc các sở và các thành viên Tổ công "
                        "tác chịu trách nhiệm thi hành Quyết định này./."
                    ),
                ),
            ),
            signature=VICE_CHAIRMAN,
            recipients=("Như Điều 3", "CT, các PCT UBND TP"),
            annexes=(
                Annex(
                    title="Danh sách thành viên Tổ công tác",
                    issued_by="Chủ tịch Ủy ban nhân dân thành phố",
                    body=(Table(columns=("STT", "Họ và tên", "Cơ quan"), rows=MEMBERS, widths=(1, 4, 6)),),
                ),
            ),
        ),
        "QĐ-QC": _view(
            "QĐ-QC",
            notation="QĐ-UBND",
            doc_type="QĐ",
            doc_type_name="QUYẾT ĐỊNH",
            subject="Ban hành Quy chế quản lý Kênh thông tin chính thức của thành phố",
            body=(
                Authority(text="ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ"),
                Basis(items=(LAW, DECREE_30)),
                Enactment(),
                Article(number=1, text="Ban hành kèm theo Quyết định này Quy chế quản lý Kênh thông tin chính thức."),
                Article(number=2, text="Quyết định này có hiệu lực kể từ ngày ký./."),
            ),
            signature=COLLECTIVE,
            recipients=("Như Điều 2", "Bộ Tư pháp"),
            annexes=(
                Annex(
                    kind="regulation",
                    type_name="QUY CHẾ",
                    title="Quản lý Kênh thông tin chính thức của thành phố Cần Thơ",
                    issued_by="Ủy ban nhân dân thành phố",
                    body=(
                        Chapter(number="I", title="Quy định chung"),
                        Article(
                            number=1,
                            title="Phạm vi điều chỉnh",
                            text="Quy chế này quy định việc quản lý, vận hành Kênh thông tin chính thức.",
                        ),
                        Article(
                            number=2,
                            title="Đối tượng áp dụng",
                            text="Các cơ quan, đơn vị thuộc Ủy ban nhân dân thành phố.",
                        ),
                        Chapter(number="II", title="Quản lý nội dung"),
                        Section(number=1, title="Biên tập"),
                        Article(
                            number=3,
                            title="Quy trình biên tập",
                            text="Tin, bài được biên tập, duyệt trước khi đăng tải.",
                        ),
                    ),
                ),
            ),
        ),
        "CT": _view(
            "CT",
            notation="CT-UBND",
            doc_type="CT",
            doc_type_name="CHỈ THỊ",
            subject="Về tăng cường thông tin, tuyên truyền trên mạng xã hội",
            body=(
                Paragraph(
                    text="Thời gian qua, việc cung cấp thông tin chính thống trên mạng xã hội đã đạt nhiều kết quả; tuy nhiên, một số đơn vị chưa quan tâm đúng mức."
                ),
                Paragraph(text="Để khắc phục tình trạng trên, Chủ tịch Ủy ban nhân dân thành phố chỉ thị:"),
                ListBlock(
                    style="numbered",
                    items=(
                        "Thủ trưởng các sở, ban, ngành chỉ đạo cán bộ theo dõi Kênh thông tin chính thức.",
                        "Chủ tịch Ủy ban nhân dân xã, phường tổ chức tuyên truyền đến người dân.",
                    ),
                ),
                Paragraph(text="Yêu cầu Thủ trưởng các cơ quan, đơn vị nghiêm túc thực hiện Chỉ thị này./."),
            ),
            signature=CHAIRMAN,
        ),
        "TB": _view(
            "TB",
            notation="TB-VPUB",
            **VPUB,
            doc_type="TB",
            doc_type_name="THÔNG BÁO",
            subject="Kết luận của Chủ tịch Ủy ban nhân dân thành phố tại cuộc họp về Kênh thông tin chính thức",
            body=(
                Paragraph(
                    text="Ngày 10 tháng 11 năm 2025, Chủ tịch Ủy ban nhân dân thành phố chủ trì cuộc họp về Kênh thông tin chính thức. Sau khi nghe báo cáo, Chủ tịch kết luận như sau:"
                ),
                Heading(text="1. Đánh giá chung"),
                Paragraph(text="Kênh thông tin chính thức được vận hành ổn định, lượng người theo dõi tăng."),
                Heading(text="2. Nhiệm vụ thời gian tới"),
                ListBlock(
                    style="dash",
                    items=(
                        "Sở Văn hóa, Thể thao và Du lịch chủ trì tổng hợp số liệu;",
                        "Công an thành phố phối hợp xử lý tin giả.",
                    ),
                ),
                Paragraph(
                    text="Văn phòng Ủy ban nhân dân thành phố thông báo để các cơ quan, đơn vị biết, thực hiện./."
                ),
            ),
            signature=DEPUTY,
        ),
        "HD": _view(
            "HD",
            notation="HD-VPUB",
            **VPUB,
            doc_type="HD",
            doc_type_name="HƯỚNG DẪN",
            subject="Theo dõi, chia sẻ Kênh thông tin chính thức trên Facebook, Zalo",
            body=(
                Heading(text="I. MỤC ĐÍCH, YÊU CẦU"),
                Paragraph(text="Thống nhất cách thức theo dõi, chia sẻ thông tin chính thống của thành phố."),
                Heading(text="II. CÁCH THỰC HIỆN"),
                ListBlock(
                    style="plus",
                    items=(
                        "Truy cập https://www.facebook.com/congthongtincantho và chọn Theo dõi;",
                        "Quét mã QR của Zalo OA Cổng TTĐT Cần Thơ và chọn Quan tâm.",
                    ),
                ),
                Paragraph(
                    text="Trong quá trình thực hiện, nếu có vướng mắc, đề nghị liên hệ Trung tâm Thông tin điện tử./."
                ),
            ),
            signature=DEPUTY,
        ),
        "CTr": _view(
            "CTr",
            notation="CTr-UBND",
            doc_type="CTr",
            doc_type_name="CHƯƠNG TRÌNH",
            subject="Công tác truyền thông chính sách năm 2026",
            body=(
                Heading(text="I. MỤC TIÊU"),
                Paragraph(text="Nâng cao hiệu quả truyền thông chính sách đến người dân, doanh nghiệp."),
                Heading(text="II. NỘI DUNG CHƯƠNG TRÌNH"),
                Table(
                    columns=("STT", "Nội dung", "Cơ quan chủ trì", "Thời gian"),
                    rows=(
                        ("1", "Tọa đàm chính sách mới", "Sở Tư pháp", "Quý I"),
                        ("2", "Chuyên mục hỏi - đáp", "Văn phòng UBND thành phố", "Hằng tháng"),
                    ),
                    widths=(1, 6, 4, 2.5),
                ),
                Paragraph(text="Các cơ quan, đơn vị tổ chức thực hiện Chương trình này./."),
            ),
            signature=VICE_CHAIRMAN,
        ),
        "KH": _view(
            "KH",
            notation="KH-UBND",
            doc_type="KH",
            doc_type_name="KẾ HOẠCH",
            subject="Phát triển Kênh thông tin chính thức giai đoạn 2026 - 2030",
            body=(
                Heading(text="I. MỤC ĐÍCH, YÊU CẦU"),
                ListBlock(
                    style="numbered",
                    items=(
                        "Tăng số người theo dõi lên 500.000 vào năm 2030.",
                        "Bảo đảm 100% xã, phường gắn liên kết trên trang thông tin điện tử.",
                    ),
                ),
                Heading(text="II. KINH PHÍ"),
                Paragraph(text="Kinh phí thực hiện từ nguồn ngân sách thành phố theo phân cấp hiện hành./."),
            ),
            signature=VICE_CHAIRMAN,
        ),
        "PA": _view(
            "PA",
            notation="PA-UBND",
            doc_type="PA",
            doc_type_name="PHƯƠNG ÁN",
            subject="Xử lý thông tin sai sự thật trên mạng xã hội",
            body=(
                Heading(text="1. Tình huống"),
                Paragraph(
                    text="Thông tin sai sự thật về chủ trương, chính sách của thành phố lan truyền trên mạng xã hội."
                ),
                Heading(text="2. Biện pháp"),
                ListBlock(
                    style="dash",
                    items=(
                        "Xác minh nguồn tin trong 02 giờ;",
                        "Đăng tải thông tin chính thức trên Kênh thông tin chính thức.",
                    ),
                ),
                Paragraph(text="Giao Công an thành phố chủ trì, phối hợp thực hiện Phương án này./."),
            ),
            signature=VICE_CHAIRMAN,
        ),
        "ĐA": _view(
            "ĐA",
            notation="ĐA-UBND",
            doc_type="ĐA",
            doc_type_name="ĐỀ ÁN",
            subject="Chuyển đổi số công tác thông tin, truyền thông của thành phố",
            body=(
                Part(number="I", title="Sự cần thiết"),
                Paragraph(
                    text="Công tác thông tin, truyền thông cần được chuyển đổi số toàn diện để đáp ứng yêu cầu mới."
                ),
                Part(number="II", title="Nội dung đề án"),
                Paragraph(text="Xây dựng nền tảng dữ liệu dùng chung về thông tin, truyền thông của thành phố./."),
            ),
            signature=VICE_CHAIRMAN,
        ),
        "BC": _view(
            "BC",
            notation="BC-VPUB",
            **VPUB,
            doc_type="BC",
            doc_type_name="BÁO CÁO",
            subject="Kết quả theo dõi Kênh thông tin chính thức quý IV năm 2025",
            addressees=("Ủy ban nhân dân thành phố",),
            body=(
                Heading(text="I. KẾT QUẢ THỰC HIỆN"),
                Table(
                    columns=("Nền tảng", "Người theo dõi", "Tăng so với quý III"),
                    rows=(("Facebook", "125.340", "8,5%"), ("Zalo OA", "48.210", "12,1%")),
                ),
                Heading(text="II. ĐỀ XUẤT, KIẾN NGHỊ"),
                Paragraph(text="Đề nghị Ủy ban nhân dân thành phố chỉ đạo các xã, phường đẩy mạnh tuyên truyền./."),
            ),
            signature=CHIEF,
        ),
        "TTr": _view(
            "TTr",
            notation="TTr-VPUB",
            **VPUB,
            doc_type="TTr",
            doc_type_name="TỜ TRÌNH",
            subject="Đề nghị ban hành Quy chế quản lý Kênh thông tin chính thức",
            addressees=("Ủy ban nhân dân thành phố",),
            body=(
                Paragraph(
                    text="Thực hiện chỉ đạo của Chủ tịch Ủy ban nhân dân thành phố, Văn phòng đã xây dựng dự thảo Quy chế quản lý Kênh thông tin chính thức."
                ),
                Paragraph(
                    text="Văn phòng Ủy ban nhân dân thành phố kính trình Ủy ban nhân dân thành phố xem xét, quyết định./."
                ),
            ),
            signature=CHIEF,
        ),
        "CV": _view(
            "CV",
            notation="VPUB-TTĐH",
            **VPUB,
            doc_type="CV",
            subject="cung cấp thông tin cho Kênh thông tin chính thức",
            addressees=("Các sở, ban, ngành thành phố", "Ủy ban nhân dân các xã, phường"),
            body=(
                Paragraph(
                    text="Để kịp thời cung cấp thông tin cho Kênh thông tin chính thức, Văn phòng Ủy ban nhân dân thành phố đề nghị các cơ quan, đơn vị gửi tin, bài về Trung tâm Thông tin điện tử trước ngày 25 hằng tháng./."
                ),
            ),
            signature=DEPUTY,
            recipients=("Như trên", "Lãnh đạo VP"),
        ),
        "CĐ": _view(
            "CĐ",
            notation="CĐ-UBND",
            doc_type="CĐ",
            doc_type_name="CÔNG ĐIỆN",
            subject="Về việc ứng phó với triều cường",
            urgency="HỎA TỐC",
            addressees=("Giám đốc các sở, ban, ngành thành phố", "Chủ tịch Ủy ban nhân dân các xã, phường"),
            body=(
                Authority(text="CHỦ TỊCH ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ điện:"),
                Paragraph(
                    text="Theo dự báo, triều cường đạt đỉnh vào ngày 20 tháng 11 năm 2025. Chủ tịch Ủy ban nhân dân thành phố yêu cầu:"
                ),
                ListBlock(
                    style="numbered",
                    items=(
                        "Theo dõi chặt chẽ diễn biến triều cường.",
                        "Đăng tải cảnh báo trên Kênh thông tin chính thức.",
                    ),
                ),
                Paragraph(text="Yêu cầu các cơ quan, đơn vị khẩn trương triển khai thực hiện./."),
            ),
            signature=CHAIRMAN,
        ),
        "GM": _view(
            "GM",
            notation="GM-VPUB",
            **VPUB,
            doc_type="GM",
            doc_type_name="GIẤY MỜI",
            subject="Họp triển khai Kênh thông tin chính thức",
            body=(
                Paragraph(
                    text="Văn phòng Ủy ban nhân dân thành phố trân trọng kính mời đại diện lãnh đạo các sở, ban, ngành thành phố dự họp."
                ),
                ListBlock(
                    style="dash",
                    items=(
                        "Thời gian: 14 giờ 00, ngày 20 tháng 11 năm 2025;",
                        "Địa điểm: Phòng họp số 2, số 02 đường Hòa Bình, phường Ninh Kiều.",
                    ),
                ),
                Paragraph(text="Rất mong đại biểu đến dự họp đúng giờ./."),
            ),
            signature=BY_ORDER,
        ),
        "GGT": _view(
            "GGT",
            notation="GGT-VPUB",
            **VPUB,
            doc_type="GGT",
            doc_type_name="GIẤY GIỚI THIỆU",
            subject="Liên hệ công tác",
            body=(
                Paragraph(
                    text="Văn phòng Ủy ban nhân dân thành phố trân trọng giới thiệu: Ông Nguyễn Văn An, chức vụ: chuyên viên Trung tâm Thông tin điện tử."
                ),
                Paragraph(
                    text="Được cử đến: Sở Văn hóa, Thể thao và Du lịch. Về việc: trao đổi số liệu Kênh thông tin chính thức."
                ),
                Paragraph(
                    text="Đề nghị Quý cơ quan tạo điều kiện để ông hoàn thành nhiệm vụ. Giấy này có giá trị đến hết ngày 30 tháng 11 năm 2025./."
                ),
            ),
            signature=DEPUTY,
        ),
        "BB": _view(
            "BB",
            notation="BB-VPUB",
            **VPUB,
            doc_type="BB",
            doc_type_name="BIÊN BẢN",
            subject="Họp Tổ biên tập Kênh thông tin chính thức",
            body=(
                Paragraph(
                    text="Thời gian bắt đầu: 08 giờ 00, ngày 12 tháng 11 năm 2025. Địa điểm: Văn phòng Ủy ban nhân dân thành phố."
                ),
                Paragraph(
                    text="Thành phần tham dự: các thành viên Tổ biên tập. Chủ trì: ông Lê Xuân Hoa. Thư ký: bà Trần Thị Bình."
                ),
                Heading(text="Nội dung cuộc họp"),
                Paragraph(text="Tổ biên tập thống nhất kế hoạch tin, bài tháng 12 năm 2025."),
                Paragraph(text="Cuộc họp kết thúc vào 10 giờ 30 cùng ngày./."),
            ),
            signature=SignatureBlock(authority_lines=("CHỦ TỌA",), signer_name="Lê Xuân Hoa"),
            second_signature=SignatureBlock(authority_lines=("THƯ KÝ",), signer_name="Trần Thị Bình"),
            recipients=(),
        ),
        "GUQ": _view(
            "GUQ",
            notation="GUQ-VPUB",
            **VPUB,
            doc_type="GUQ",
            doc_type_name="GIẤY ỦY QUYỀN",
            subject="Ký văn bản trả lời kiến nghị trên Kênh thông tin chính thức",
            body=(
                Paragraph(text="Căn cứ Quy chế làm việc của Văn phòng Ủy ban nhân dân thành phố."),
                Paragraph(
                    text="Bên ủy quyền: ông Nguyễn Trọng Sơn, Chánh Văn phòng. Bên được ủy quyền: ông Lê Xuân Hoa, Phó Chánh Văn phòng."
                ),
                Paragraph(
                    text="Nội dung ủy quyền: ký văn bản trả lời kiến nghị của người dân từ ngày 01 tháng 12 năm 2025 đến ngày 31 tháng 12 năm 2025./."
                ),
            ),
            signature=SignatureBlock(authority_lines=("NGƯỜI ỦY QUYỀN",), signer_name="Nguyễn Trọng Sơn"),
            second_signature=SignatureBlock(authority_lines=("NGƯỜI ĐƯỢC ỦY QUYỀN",), signer_name="Lê Xuân Hoa"),
            recipients=(),
        ),
    }
