"""The compliance view's unit list options and its PDF report (Decree 30 BÁO CÁO of the Office)."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from datetime import date
from pathlib import Path

from report_testing import VALID_REPORT, Api, small_addressees

from report_api.compliance.service import format_count, format_rate


async def _scenario(api: Api) -> tuple[str, dict[str, str]]:
    """Three units: one accepted on time, one submitted on time (pending review), one silent and overdue."""
    api.clock.set_local(date(2026, 11, 27), hour=9)
    directive = await api.dispatch(issued_on=date(2026, 11, 27), notation="01/VPUB-TTĐH")
    ids = {a["unit_code"]: (await api.obligation_of(a["unit_code"], directive["id"]))["id"] for a in small_addressees()}
    api.clock.set_local(date(2026, 12, 3), hour=10)
    await api.acknowledge(ids["X31299"], "X31299")
    await api.submit(ids["X31299"], "X31299", VALID_REPORT)
    await api.review(ids["X31299"], "accept")
    await api.acknowledge(ids["SNV"], "SNV")
    await api.submit(ids["SNV"], "SNV", {**VALID_REPORT, "facebook_followers": 7})
    api.clock.set_local(date(2026, 12, 16), hour=10)  # after the deadline of 11/12/2026
    return directive["id"], ids


async def test_unit_rows_are_optional_and_paged(api: Api) -> None:
    directive_id, ids = await _scenario(api)
    url = f"/v1/directives/{directive_id}/compliance"
    default = await api.compliance(directive_id)
    assert default["units"] == []
    assert default["units_page"] == {"mode": "none", "total": 0, "offset": 0, "limit": None, "next_offset": None}
    assert [u["unit_code"] for u in default["overdue_units"]] == ["P31120"]
    assert (default["total"], default["overdue"], default["on_time"], default["late"]) == (3, 1, 2, 0)

    overdue = await api.ok("GET", f"{url}?units=overdue", api.actors.monitor)
    assert [(u["unit_code"], u["overdue"]) for u in overdue["units"]] == [("P31120", True)]
    assert overdue["units_page"]["total"] == 1 and overdue["units_page"]["next_offset"] is None

    first = await api.ok("GET", f"{url}?units=all&limit=2", api.actors.monitor)
    assert [u["unit_code"] for u in first["units"]] == ["P31120", "SNV"]
    assert first["units_page"] == {"mode": "all", "total": 3, "offset": 0, "limit": 2, "next_offset": 2}
    rest = await api.ok("GET", f"{url}?units=all&limit=2&offset=2", api.actors.monitor)
    assert [u["unit_code"] for u in rest["units"]] == ["X31299"]
    assert rest["units_page"]["next_offset"] is None
    accepted = rest["units"][0]
    assert accepted["obligation_id"] == ids["X31299"] and accepted["status"] == "accepted"
    assert accepted["figures"]["facebook_followers"] == VALID_REPORT["facebook_followers"]
    assert first["units"][1]["figures"] == {}  # submitted, not accepted: not counted
    assert (
        rest["totals"]
        == default["totals"]
        == {
            "facebook_followers": 120,
            "zalo_followers": 95,
            "posts_shared": 14,
            "website_links_portal": 1,
        }
    )
    bad = await api.client.get(f"{url}?units=some", headers=api.actors.monitor)
    assert bad.status_code == 422


async def test_pdf_report_carries_the_summary(api: Api, tmp_path: Path) -> None:
    directive_id, _ = await _scenario(api)
    url = f"/v1/directives/{directive_id}/compliance"
    forbidden = await api.client.get(f"{url}?format=pdf", headers=api.actors.unit_officer("SNV"))
    assert forbidden.status_code == 403
    summary = await api.compliance(directive_id)

    response = await api.client.get(f"{url}?format=pdf", headers=api.actors.monitor)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    # named after the notation and the date, not an id
    assert "filename*=UTF-8''bao-cao-tinh-hinh-01-VPUB-TT%C4%90H-2026-12-16.pdf" in disposition
    assert response.content.startswith(b"%PDF-")
    path = tmp_path / "report.pdf"
    path.write_bytes(response.content)

    assert shutil.which("pdftotext") and shutil.which("pdffonts"), "needs poppler-utils"
    layout = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True)
    text = " ".join(unicodedata.normalize("NFC", layout.stdout).split())
    assert "BÁO CÁO" in text
    assert "01/VPUB-TTĐH" in text and "BC-VPUB" in text
    assert "Tình hình thực hiện Công văn số 01/VPUB-TTĐH" in text
    assert "UBND THÀNH PHỐ CẦN THƠ" in text and "VĂN PHÒNG" in text
    assert "Cần Thơ, ngày 16 tháng 12 năm 2026" in text
    assert "KT. CHÁNH VĂN PHÒNG" in text and "PHÓ CHÁNH VĂN PHÒNG" in text and "Lê Xuân Hoa" in text
    assert "Như trên" in text and "Lưu: VT." in text
    assert "I. Kết quả tổng hợp" in text and "IV. Danh sách đơn vị quá hạn chưa báo cáo" in text
    assert f"có {summary['total']} đơn vị phải thực hiện" in text
    assert (
        f"{summary['submitted']} đơn vị đã gửi báo cáo ({summary['on_time']} đúng hạn, {summary['late']} trễ hạn)"
        in text
    )
    assert f"{summary['overdue']} đơn vị quá hạn chưa báo cáo" in text
    rate = format_rate(summary["on_time_rate"]).replace("\u00a0", " ")  # the text's spaces are normalised
    assert f"Tỷ lệ báo cáo đúng hạn: {rate}" in text
    for status in summary["by_status"]:
        if status["count"]:
            assert f"{status['label']}: {status['count']} đơn vị" in text
    for key, value in summary["totals"].items():
        assert f"{summary['field_labels'][key]}: {format_count(value)}" in text
    for unit in summary["overdue_units"]:
        assert f"{unit['unit_name']} ({unit['unit_code']})" in text
    assert "Ủy ban nhân dân xã, phường: 2 đơn vị" in text

    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout.splitlines()
    rows = fonts[2:]
    assert rows, fonts
    for row in rows:
        columns = re.split(r"\s+", row.strip())
        # name type [encoding] emb sub uni object ID: "emb" is the fifth column from the end.
        assert columns[-5] == "yes", row


async def test_on_time_rate_counts_only_units_that_had_to_answer(api: Api) -> None:
    """Before the deadline only the units that reported count; after it, every unit does."""
    directive = await api.dispatch()
    ob = await api.obligation_of("SNV", directive["id"])
    await api.acknowledge(ob["id"], "SNV")
    await api.submit(ob["id"], "SNV", VALID_REPORT)
    before = await api.compliance(directive["id"])  # 27/11, the deadline is 11/12
    assert (before["on_time"], before["on_time_base"], before["on_time_rate"]) == (1, 1, 1.0)
    assert before["total"] == 3
    by_group = {g["group_code"]: g for g in before["groups"]}
    assert by_group["commune_level"]["on_time_base"] == 0 and by_group["commune_level"]["on_time_rate"] == 0.0
    api.clock.set_local(date(2026, 12, 14))
    after = await api.compliance(directive["id"])
    assert (after["on_time"], after["on_time_base"], after["on_time_rate"]) == (1, 3, round(1 / 3, 4))


def test_rates_are_written_the_vietnamese_way() -> None:
    assert format_rate(0.0492) == "4,9\u00a0%"
    assert format_rate(1.0) == "100,0\u00a0%"
    assert format_rate(0.0) == "0,0\u00a0%"
