"""Structured legal content through the API, and the Decree 30 rules it is checked against.

A quyết định with its authority line, căn cứ, ``QUYẾT ĐỊNH:``, articles and an appendix is accepted and
rendered; content that Decree 30 forbids is refused with a problem naming the rule, and nothing is
written. A công văn of plain paragraphs (the seed letter) still works as before.
"""

from __future__ import annotations

import copy
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

from directive_testing import Actors, Api

from common.edxml import parse_document_package

QD_BODY: list[dict[str, Any]] = [
    {"kind": "authority", "text": "CHÁNH VĂN PHÒNG ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ"},
    {
        "kind": "basis",
        "items": [
            "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư",
            "Căn cứ Quy chế làm việc của Văn phòng Ủy ban nhân dân thành phố",
            "Theo đề nghị của Giám đốc Trung tâm Thông tin điện tử",
        ],
    },
    {"kind": "enactment", "text": "QUYẾT ĐỊNH"},
    {
        "kind": "article",
        "number": 1,
        "text": "Thành lập Tổ biên tập Kênh thông tin chính thức, gồm các thành viên tại Phụ lục kèm theo.",
    },
    {
        "kind": "article",
        "number": 2,
        "title": "Nhiệm vụ",
        "clauses": [
            {
                "number": 1,
                "text": "Biên tập, đăng tải thông tin:",
                "points": [
                    {"letter": "a", "text": "Chỉ đạo, điều hành của lãnh đạo thành phố;"},
                    {"letter": "b", "text": "Thông tin chính sách mới."},
                ],
            },
            {"number": 2, "text": "Báo cáo kết quả hằng quý."},
        ],
    },
    {"kind": "article", "number": 3, "text": "Quyết định này có hiệu lực kể từ ngày ký./."},
]
APPENDIX = {
    "title": "Danh sách thành viên Tổ biên tập",
    "issued_by": "Chánh Văn phòng Ủy ban nhân dân thành phố",
    "body": [
        {
            "kind": "table",
            "columns": ["STT", "Họ và tên", "Nhiệm vụ"],
            "rows": [["1", "Nguyễn Văn Biên", "Tổ trưởng"], ["2", "Trần Thị Tập", "Thành viên"]],
            "widths": [1, 4, 4],
        }
    ],
}


def decision(letter: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        **copy.deepcopy(letter),
        "doc_type": "QĐ",
        "subject": "Về việc thành lập Tổ biên tập Kênh thông tin chính thức",
        "addressees": [],
        "body": copy.deepcopy(QD_BODY),
        "annexes": [copy.deepcopy(APPENDIX)],
    }
    body.update(changes)
    return body


async def test_a_structured_decision_is_accepted_and_rendered(
    api: Api, actors: Actors, letter: dict[str, Any], tmp_path: Path
) -> None:
    doc = await api.create(decision(letter))
    assert [block["kind"] for block in doc["body"]] == [
        "authority",
        "basis",
        "enactment",
        "article",
        "article",
        "article",
    ]
    assert doc["annexes"][0]["title"] == "Danh sách thành viên Tổ biên tập"
    preview = await api.client.get(f"/v1/directives/{doc['id']}/pdf", headers=actors.drafter)
    assert preview.status_code == 200
    path = tmp_path / "qd.pdf"
    path.write_bytes(preview.content)
    text = " ".join(
        subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout.split()
    )
    in_order = [
        "QUYẾT ĐỊNH",
        "CHÁNH VĂN PHÒNG ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ",
        "Căn cứ Nghị định số 30/2020/NĐ-CP",
        "văn thư;",
        "Theo đề nghị của Giám đốc Trung tâm Thông tin điện tử.",
        "QUYẾT ĐỊNH:",
        "Điều 1. Thành lập Tổ biên tập",
        "Điều 2. Nhiệm vụ",
        "a) Chỉ đạo, điều hành",
        "Điều 3.",
        "Phụ lục",
        "DANH SÁCH THÀNH VIÊN TỔ BIÊN TẬP",
        "Nguyễn Văn Biên",
    ]
    position = 0
    for phrase in in_order:
        found = text.find(phrase, position)
        assert found >= 0, f"missing or out of order: {phrase!r}"
        position = found + len(phrase)


async def _refused(api: Api, actors: Actors, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = await api.client.post("/v1/directives", json=body, headers=actors.drafter)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "The document breaks a rule of Decree 30/2020"
    errors: list[dict[str, Any]] = problem["errors"]
    return errors


async def test_what_decree_30_forbids_is_refused_naming_the_rule(
    api: Api, actors: Actors, letter: dict[str, Any]
) -> None:
    without_basis = decision(letter, body=[b for b in QD_BODY if b["kind"] != "basis"])
    assert "nd30.quyet-dinh.basis-required" in {e["rule"] for e in await _refused(api, actors, without_basis)}

    paragraphs_only = decision(letter, body=letter["body"])
    rules = {e["rule"] for e in await _refused(api, actors, paragraphs_only)}
    assert {"nd30.quyet-dinh.basis-required", "nd30.quyet-dinh.articles-required"} <= rules

    unnumbered = decision(letter)
    del unnumbered["body"][3]["number"]
    errors = await _refused(api, actors, unnumbered)
    assert [(e["rule"], e["location"]) for e in errors] == [("nd30.article.number-required", ["body", "body", 3])]

    bad_points = decision(letter)
    bad_points["body"][4]["clauses"][0]["points"][1]["letter"] = "c"
    assert [e["rule"] for e in await _refused(api, actors, bad_points)] == ["nd30.point.lettering"]

    vv_only = {**copy.deepcopy(letter), "subject": "V/v"}
    assert [e["rule"] for e in await _refused(api, actors, vv_only)] == ["nd30.cong-van.subject-required"]

    no_addressee = {**copy.deepcopy(letter), "addressees": []}
    assert [e["rule"] for e in await _refused(api, actors, no_addressee)] == ["nd30.cong-van.addressee-required"]

    regulation_in_letter = {
        **copy.deepcopy(letter),
        "annexes": [{"kind": "regulation", "type_name": "QUY CHẾ", "title": "Quy chế", "body": QD_BODY[3:4]}],
    }
    assert [e["rule"] for e in await _refused(api, actors, regulation_in_letter)] == [
        "nd30.regulation.issued-by-decision"
    ]

    minutes = {**copy.deepcopy(letter), "doc_type": "BB", "subject": "Họp Tổ biên tập", "addressees": []}
    assert [e["rule"] for e in await _refused(api, actors, minutes)] == ["nd30.bien-ban.two-signers"]

    listing = await api.client.get("/v1/directives", headers=actors.drafter)
    assert listing.json()["items"] == []  # nothing was written


async def test_an_edit_that_breaks_a_rule_changes_nothing(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.create(decision(letter))
    broken = [b for b in QD_BODY if b["kind"] != "enactment"]
    response = await api.client.patch(
        f"/v1/directives/{doc['id']}", json={"body": broken}, headers={**actors.drafter, "If-Match": doc["etag"]}
    )
    assert response.status_code == 422, response.text
    assert [e["rule"] for e in response.json()["errors"]] == ["nd30.quyet-dinh.enactment-required"]
    after = (await api.get(doc["id"], actors.drafter)).json()
    assert after["version"] == doc["version"] and after["body"] == doc["body"]


async def test_plain_paragraph_letters_still_work(api: Api, letter: dict[str, Any]) -> None:
    doc = await api.create(letter)
    assert {block["kind"] for block in doc["body"]} == {"paragraph", "heading", "qr"}
    assert doc["annexes"] == [] and doc["second_signature"] is None


def _report_pdf() -> bytes:
    """A real PDF to attach: a one-page report rendered by the same toolkit."""
    from doc_type_fixtures import fixtures

    from common.pdf.render import render_pdf

    return render_pdf(fixtures()["BC"]).pdf


async def test_an_attached_pdf_is_hashed_listed_and_embedded_in_the_issued_pdf(
    api: Api, actors: Actors, letter: dict[str, Any], tmp_path: Path
) -> None:
    import hashlib

    data = _report_pdf()
    doc = await api.create(letter)
    url = f"/v1/directives/{doc['id']}/attachments"
    pdf_headers = {**actors.drafter, "Content-Type": "application/pdf"}
    stale = await api.client.post(
        url, content=data, params={"name": "x.pdf"}, headers={**pdf_headers, "If-Match": '"9"'}
    )
    assert stale.status_code == 412
    not_pdf = await api.client.post(url, content=b"hello", headers={**pdf_headers, "If-Match": doc["etag"]})
    assert not_pdf.status_code == 415
    broken = await api.client.post(url, content=b"%PDF-1.7\n%%EOF\n", headers={**pdf_headers, "If-Match": doc["etag"]})
    assert broken.status_code == 422
    path_name = await api.client.post(
        url, content=data, params={"name": "../etc/passwd"}, headers={**pdf_headers, "If-Match": doc["etag"]}
    )
    assert path_name.status_code == 422
    unit_officer = await api.client.post(
        url,
        content=data,
        headers={**actors.unit_officer("X31299"), "Content-Type": "application/pdf", "If-Match": doc["etag"]},
    )
    assert unit_officer.status_code in (403, 404)
    assert (await api.get(doc["id"], actors.drafter)).json()["version"] == doc["version"]  # nothing changed

    added = await api.client.post(
        url, content=data, params={"name": "Báo cáo quý IV.pdf"}, headers={**pdf_headers, "If-Match": doc["etag"]}
    )
    assert added.status_code == 201, added.text
    doc = added.json()
    digest = hashlib.sha256(data).hexdigest()
    assert doc["attachments"] == [{"name": "Báo cáo quý IV.pdf", "sha256": digest, "size": len(data)}]
    assert added.headers["etag"] == doc["etag"]
    again = await api.client.post(url, content=data, headers={**pdf_headers, "If-Match": doc["etag"]})
    assert again.status_code == 409

    doc = await api.advance(await api.advance(doc, "submit", actors.drafter), "approve", actors.signer)
    issued = await api.advance(doc, "issue", actors.clerk)
    response = await api.client.get(f"/v1/directives/{issued['id']}/pdf", headers=actors.monitor)
    path = tmp_path / "issued.pdf"
    path.write_bytes(response.content)
    listing = subprocess.run(["pdfdetach", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    assert listing.splitlines()[1:] == ["1: Báo cáo quý IV.pdf"]
    subprocess.run(["pdfdetach", "-save", "1", "-o", str(tmp_path / "out.pdf"), str(path)], check=True)
    assert (tmp_path / "out.pdf").read_bytes() == data
    text = " ".join(
        subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout.split()
    )
    assert "Tài liệu kèm theo: 1. Báo cáo quý IV.pdf" in text and digest in text.replace(" ", "")
    verdict = await api.client.post(
        "/v1/verify", content=response.content, headers={**actors.monitor, "Content-Type": "application/pdf"}
    )
    assert verdict.json()["verdict"] == "valid"
    # In edXML the attachment travels as a file of its own, after the signed document.
    package = parse_document_package(
        (await api.client.get(f"/v1/directives/{issued['id']}/edxml", headers=actors.clerk)).content
    )
    assert [(a.attachment_name, a.content) for a in package.attachments][1:] == [("Báo cáo quý IV.pdf", data)]
    assert package.attachments[0].content == response.content


async def test_an_edit_keeps_or_drops_attachments(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.create(letter)
    added = await api.client.post(
        f"/v1/directives/{doc['id']}/attachments",
        content=_report_pdf(),
        headers={**actors.drafter, "Content-Type": "application/pdf", "If-Match": doc["etag"]},
    )
    doc = added.json()
    assert doc["attachments"][0]["name"] == "tai-lieu-kem-theo-1.pdf"
    unknown = await api.client.patch(
        f"/v1/directives/{doc['id']}",
        json={"attachments": [{"sha256": "0" * 64}]},
        headers={**actors.drafter, "If-Match": doc["etag"]},
    )
    assert unknown.status_code == 422
    dropped = await api.client.patch(
        f"/v1/directives/{doc['id']}", json={"attachments": []}, headers={**actors.drafter, "If-Match": doc["etag"]}
    )
    assert dropped.status_code == 200 and dropped.json()["attachments"] == []


def _padded_pdf(size: int) -> bytes:
    """A readable one-page PDF of at least ``size`` bytes (a scanned report is often several MB)."""
    import io
    import os

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_attachment("scan.bin", os.urandom(size))  # random bytes do not compress
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def test_an_attachment_larger_than_an_ordinary_request_up_to_20_mb_is_accepted(
    api: Api, actors: Actors, letter: dict[str, Any]
) -> None:
    doc = await api.create(letter)
    url = f"/v1/directives/{doc['id']}/attachments"
    headers = {**actors.drafter, "Content-Type": "application/pdf", "If-Match": doc["etag"]}
    too_large = await api.client.post(url, content=_padded_pdf(20 * 1024 * 1024), headers=headers)
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == "application/problem+json"
    assert "attachment" in too_large.json()["detail"]
    assert (await api.get(doc["id"], actors.drafter)).json()["version"] == doc["version"]  # nothing changed
    scan = _padded_pdf(3_000_000)  # above the 2 MB cap of ordinary requests
    added = await api.client.post(url, content=scan, params={"name": "Bản chụp hồ sơ.pdf"}, headers=headers)
    assert added.status_code == 201, added.text
    assert added.json()["attachments"][0]["size"] == len(scan)


async def test_tables_too_long_to_lay_out_are_refused_before_anything_is_written(
    api: Api, actors: Actors, letter: dict[str, Any]
) -> None:
    # Well under the 2 MB request cap, but minutes of layout at every preview and at approval.
    table = {"kind": "table", "columns": ["STT", "Hộ gia đình"], "rows": [[str(n), "Hộ"] for n in range(1, 2001)]}
    appendix = {**APPENDIX, "body": [table] * 3}
    response = await api.client.post(
        "/v1/directives", json=decision(letter, annexes=[appendix]), headers=actors.drafter
    )
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert "5000 table rows" in response.json()["detail"]
    listing = await api.client.get("/v1/directives", headers=actors.drafter)
    assert listing.json()["items"] == []
    fits = {**APPENDIX, "body": [table] * 2}
    doc = await api.create(decision(letter, annexes=[fits]))
    grown = await api.client.patch(
        f"/v1/directives/{doc['id']}", json={"annexes": [appendix]}, headers={**actors.drafter, "If-Match": doc["etag"]}
    )
    assert grown.status_code == 422 and "5000 table rows" in grown.json()["detail"]
    assert (await api.get(doc["id"], actors.drafter)).json()["version"] == doc["version"]


async def test_structured_text_is_nfc_and_free_of_control_characters(
    api: Api, actors: Actors, letter: dict[str, Any]
) -> None:
    def with_text(text: str) -> list[dict[str, Any]]:
        """A decision whose căn cứ, table cell, clause and appendix paragraph carry ``text``."""
        body = decision(letter)
        body["body"][1]["items"][0] = f"Căn cứ {text}"
        body["body"][4]["clauses"][1]["text"] = text
        body["annexes"][0]["body"] = [
            {"kind": "paragraph", "text": text},
            {"kind": "table", "columns": ["STT", text], "rows": [["1", text]]},
        ]
        return body

    for control in ("\x00", "\x1b[31m", "\x7f"):
        response = await api.client.post("/v1/directives", json=with_text(f"Luật{control}"), headers=actors.drafter)
        assert response.status_code == 422, response.text[:300]
        assert response.headers["content-type"] == "application/problem+json"
        assert "control characters" in response.text
    assert (await api.client.get("/v1/directives", headers=actors.drafter)).json()["items"] == []
    decomposed = "Luật Ngân sách nhà nước"
    doc = await api.create(with_text(unicodedata.normalize("NFD", decomposed)))
    assert doc["body"][1]["items"][0] == f"Căn cứ {decomposed}"
    assert doc["body"][4]["clauses"][1]["text"] == decomposed
    assert doc["annexes"][0]["body"][0]["text"] == decomposed
    assert doc["annexes"][0]["body"][1]["rows"] == [["1", decomposed]]
