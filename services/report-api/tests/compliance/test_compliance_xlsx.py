"""The compliance workbook: Vietnamese labels, every field, real dates and percentages, print set-up.

Read back with openpyxl and, independently, printed by LibreOffice (headless) to a PDF checked with
poppler's pdfinfo/pdftotext.
"""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date, datetime
from pathlib import Path
from urllib.parse import unquote

from openpyxl import load_workbook
from report_testing import PNG_BYTES, VALID_REPORT, Api, seed_compliance

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _workbook(api: Api) -> tuple[bytes, str]:
    directive = await api.dispatch()
    ids = {u: (await api.obligation_of(u, directive["id"]))["id"] for u in ("P31120", "SNV", "X31299")}
    await api.acknowledge(ids["P31120"], "P31120")
    upload = await api.client.post(
        f"/v1/obligations/{ids['P31120']}/evidence",
        files={"file": ("Ảnh trang Facebook.png", PNG_BYTES, "image/png")},
        headers=api.actors.unit_officer("P31120"),
    )
    await api.submit(ids["P31120"], "P31120", {**VALID_REPORT, "evidence": [upload.json()["id"]]})
    await api.review(ids["P31120"], "accept")
    await api.acknowledge(ids["SNV"], "SNV")
    await api.submit(ids["SNV"], "SNV", {**VALID_REPORT, "facebook_followers": 7})
    await api.review(ids["SNV"], "return", "Thiếu minh chứng")
    api.clock.set_local(date(2026, 12, 16), hour=10)
    response = await api.client.get(
        f"/v1/directives/{directive['id']}/compliance", params={"format": "xlsx"}, headers=api.actors.monitor
    )
    assert response.status_code == 200 and response.headers["content-type"] == XLSX
    return response.content, response.headers["content-disposition"]


async def test_compliance_workbook_is_labelled_typed_and_ready_to_print(api: Api, tmp_path: Path) -> None:
    content, disposition = await _workbook(api)
    assert "filename*=UTF-8''" + "tinh-hinh-bao-cao-01-VPUB-TT" in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "tinh-hinh-bao-cao-01-VPUB-TTĐH-2026-12-16.xlsx"

    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["Tổng hợp", "Đơn vị", "Quá hạn"]
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9  # A4
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
        assert sheet.print_title_rows == "$5:$5"
        assert sheet.freeze_panes is not None and sheet.freeze_panes.endswith("6")
        assert "01/VPUB-TTĐH" in sheet["A2"].value
        assert sheet["B3"].value == datetime(2026, 12, 16) and sheet["B3"].number_format == "dd/mm/yyyy"

    summary = {row[0].value: row for row in book["Tổng hợp"].iter_rows(min_row=6)}
    rate = summary["Tỷ lệ báo cáo đúng hạn"][2]
    assert rate.value == round(2 / 3, 4) and rate.number_format == "0.0%"  # a number, shown as 66,7 %
    assert summary["Tổng số đơn vị phải báo cáo"][1].value == 3
    units = book["Đơn vị"]
    header = [c.value for c in units[5]]
    labels = [f["label"] for f in seed_compliance()["report_fields"]]
    assert header[:5] == ["STT", "Mã đơn vị", "Tên đơn vị", "Nhóm", "Trạng thái"]
    assert header[-len(labels) :] == labels  # every field of the template, by its label
    assert not any(k in header for k in ("facebook_followers", "unit_code", "due_on"))
    assert all(units.column_dimensions[c].width and units.column_dimensions[c].width >= 6 for c in "ABCDEFG")
    rows = {r[1]: dict(zip(header, r, strict=True)) for r in units.iter_rows(min_row=6, values_only=True)}
    assert set(rows) == {"P31120", "SNV", "X31299"}
    p = rows["P31120"]
    assert p["Hạn báo cáo"] == datetime(2026, 12, 11) and p["Kết quả duyệt báo cáo gần nhất"] == "Đã duyệt"
    assert isinstance(p["Thời điểm báo cáo lần đầu"], datetime) and p["Báo cáo đúng hạn"] == "Có"
    assert p[labels[0]] == VALID_REPORT["facebook_followers"] and p[labels[3]] == "Có"
    assert p["Minh chứng (ảnh chụp màn hình, PDF)"] == "Ảnh trang Facebook.png"
    assert p["Địa chỉ trang có gắn liên kết"] == VALID_REPORT["website_link_url"]
    assert rows["SNV"]["Kết quả duyệt báo cáo gần nhất"] == "Trả lại" and rows["SNV"][labels[0]] == 7
    assert rows["SNV"]["Số ngày làm việc quá hạn"] == 3
    assert rows["X31299"]["Trạng thái"] == "Đã giao, chưa tiếp nhận" and rows["X31299"][labels[0]] is None
    date_cell = next(c for c in units[6] if c.value == datetime(2026, 12, 11))
    assert date_cell.number_format == "dd/mm/yyyy"
    overdue = list(book["Quá hạn"].iter_rows(min_row=6, values_only=True))
    assert [r[1] for r in overdue] == ["SNV", "X31299"]

    # printed by LibreOffice: A4 landscape pages carrying the labels
    source = tmp_path / "bao-cao.xlsx"
    source.write_bytes(content)
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = tmp_path / "bao-cao.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts \(A4\)", info)
    assert size is not None and float(size[1]) > float(size[2]), info  # A4, landscape
    # fitted to the width: each sheet (24 columns for the units) prints on one page
    assert re.search(r"Pages:\s+3\n", info), info
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "Tỷ lệ báo cáo đúng hạn" in text and "Cái Khế" in text and "Kết quả duyệt" in text
