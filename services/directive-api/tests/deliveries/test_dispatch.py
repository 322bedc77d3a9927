"""Dispatch, delivery tracking, events, recall/replace/correction, archive and the register exports."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from directive_testing import Actors, Api
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from common.outbox import Relay
from common.webhooks import signature_headers
from directive_api.events.models import OUTBOX

UNITS = json.loads((Path(__file__).resolve().parents[2] / "src/directive_api/seed/can-tho-units.json").read_text())


# A quyết định must carry the structure Decree 30 requires (authority, căn cứ, QUYẾT ĐỊNH:, articles);
# its Điều 3 names who carries it out, which is what the "Như Điều 3" recipient line points at.
DECISION_BODY: list[dict[str, Any]] = [
    {"kind": "authority", "text": "CHÁNH VĂN PHÒNG ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ"},
    {
        "kind": "basis",
        "items": [
            "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư",
            "Theo đề nghị của Giám đốc Trung tâm Thông tin điện tử",
        ],
    },
    {"kind": "enactment", "text": "QUYẾT ĐỊNH"},
    {"kind": "article", "number": 1, "text": "Ban hành kèm theo Quyết định này Quy chế quản lý Kênh thông tin."},
    {"kind": "article", "number": 2, "text": "Quyết định này có hiệu lực kể từ ngày ký."},
    {
        "kind": "article",
        "number": 3,
        "text": "Giám đốc Trung tâm Thông tin điện tử và các đơn vị có liên quan chịu trách nhiệm thi hành./.",
    },
]


def _seed_counts() -> tuple[int, int]:
    groups = {"department", "socio_political_org", "commune_level"}
    addressees = {u["code"] for u in UNITS["units"] if u["group"] in groups}
    information = {"TU", "HĐND", "LĐUBND", "MTTQ", "ĐĐBQH", "BTGDV", "CATP", "BCHQS", "CTTĐT"} - addressees
    return len(addressees), len(information)


async def _dispatched(api: Api, actors: Actors, letter: dict[str, Any]) -> dict[str, Any]:
    issued = await api.advance(await api.approved(letter), "issue", actors.clerk)
    return await api.advance(issued, "dispatch", actors.clerk)


async def _sequence_events(app: FastAPI) -> None:
    async with Relay(app.state.sessionmaker, OUTBOX) as relay:
        await relay.step()


async def test_dispatch_creates_one_delivery_per_recipient(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    doc = await _dispatched(api, actors, letter)
    assert doc["status"] == "dispatched"
    addressees, information = _seed_counts()
    assert (addressees, information) == (122, 8)
    page = (await api.client.get(f"/v1/directives/{doc['id']}/recipients", headers=actors.clerk)).json()
    items = page["items"]
    assert len(items) == addressees + information
    assert sum(i["role"] == "addressee" for i in items) == addressees
    assert sum(i["role"] == "information" for i in items) == information
    assert len({i["unit_code"] for i in items}) == len(items)
    assert page["counts"] == {"sent": len(items)}
    assert "VPUB" not in {i["unit_code"] for i in items}
    # A unit officer sees only its own delivery.
    mine = (
        await api.client.get(f"/v1/directives/{doc['id']}/recipients", headers=actors.unit_officer("X31299"))
    ).json()
    assert [i["unit_code"] for i in mine["items"]] == ["X31299"]

    await _sequence_events(app)
    feed = (await api.client.get("/v1/events?after=0", headers=actors.monitor)).json()
    types = [e["type"] for e in feed["items"]]
    assert types == ["directive.issued", "directive.dispatched"]
    dispatched = feed["items"][1]
    assert dispatched["subject"] == doc["id"]
    assert len(dispatched["data"]["addressees"]) == addressees
    assert dispatched["data"]["directive"]["notation"] == "01/VPUB-TTĐH"
    assert dispatched["data"]["directive"]["compliance"]["deadline_working_days"] == 10
    again = (await api.client.get(f"/v1/events?after={feed['next_cursor']}", headers=actors.monitor)).json()
    assert again["items"] == []


async def test_urgent_documents_dispatch_at_issue_time(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    from directive_api.directives import service

    doc = await api.advance(await api.approved({**letter, "urgency": "HỎA TỐC"}), "issue", actors.clerk)
    normal = await api.advance(await api.approved(letter), "issue", actors.clerk)
    async with app.state.sessionmaker() as session, session.begin():
        done = await service.dispatch_due(session, now=app.state.clock())
    assert [str(d) for d in done] == [doc["id"]]
    assert (await api.get(doc["id"], actors.clerk)).json()["status"] == "dispatched"
    assert (await api.get(normal["id"], actors.clerk)).json()["status"] == "issued"
    history = await api.history(doc["id"])
    assert history[-1]["action"] == "dispatch"
    assert history[-1]["actor_id"] == "system"


async def test_two_dispatch_timers_share_the_due_documents(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    """Two relay replicas run the same-day dispatch timer at the same moment: each due document is
    dispatched once, by one of them, and neither round fails (on PostgreSQL they skip each other's rows)."""
    import asyncio

    from directive_api.directives import service

    docs = [
        await api.advance(await api.approved({**letter, "urgency": "HỎA TỐC"}), "issue", actors.clerk) for _ in range(4)
    ]

    async def timer() -> list[str]:
        async with app.state.sessionmaker() as session, session.begin():
            return [str(d) for d in await service.dispatch_due(session, now=app.state.clock())]

    first, second = await asyncio.gather(timer(), timer())
    assert sorted(first + second) == sorted(d["id"] for d in docs)
    for doc in docs:
        assert (await api.get(doc["id"], actors.clerk)).json()["status"] == "dispatched"
        assert [h["action"] for h in await api.history(doc["id"])].count("dispatch") == 1
        page = (await api.client.get(f"/v1/directives/{doc['id']}/recipients", headers=actors.clerk)).json()
        assert len(page["items"]) == sum(_seed_counts())


async def test_recall_freezes_and_tells(api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI) -> None:
    doc = await _dispatched(api, actors, letter)
    missing = await api.act(doc, "recall", actors.clerk)
    assert missing.status_code == 422
    recalled = await api.advance(doc, "recall", actors.clerk, comment="Sai đối tượng nhận.")
    assert recalled["status"] == "recalled"
    assert recalled["recall_reason"] == "Sai đối tượng nhận."
    page = await api.client.get(f"/verify/{doc['public_id']}")
    assert "THU HỒI" in page.text
    assert (await api.client.get(f"/verify/{doc['public_id']}/pdf")).status_code == 404
    # Frozen in the database itself.
    async with app.state.engine.begin() as connection:
        with pytest.raises((DBAPIError, IntegrityError)):
            await connection.execute(text("UPDATE directives SET subject = 'x' WHERE id = :id"), {"id": _id(app, doc)})
    edxml = await api.client.get(f"/v1/directives/{doc['id']}/edxml?kind=revocation", headers=actors.clerk)
    assert edxml.status_code == 200
    from common.edxml import parse_document_package

    package = parse_document_package(edxml.content)
    assert package.trace_header_list is not None
    assert int(package.trace_header_list.business.business_doc_type) == 1
    await _sequence_events(app)
    feed = (await api.client.get("/v1/events?after=0", headers=actors.monitor)).json()
    assert feed["items"][-1]["type"] == "directive.recalled"
    assert feed["items"][-1]["data"]["reason"] == "Sai đối tượng nhận."


def _id(app: FastAPI, doc: dict[str, Any]) -> str:
    # UUIDs are stored as 32 hex characters on SQLite and as uuid on PostgreSQL.
    return doc["id"] if app.state.engine.dialect.name == "postgresql" else doc["id"].replace("-", "")


async def test_replace_moves_to_the_new_document(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    old = await _dispatched(api, actors, letter)
    new = await api.advance(await api.approved({**letter, "subject": "thay thế văn bản trước"}), "issue", actors.clerk)
    bad = await api.client.post(
        f"/v1/directives/{old['id']}/replace",
        json={"replacement_id": old["id"]},
        headers={**actors.clerk, "If-Match": old["etag"]},
    )
    assert bad.status_code == 422
    replaced = await api.client.post(
        f"/v1/directives/{old['id']}/replace",
        json={"replacement_id": new["id"]},
        headers={**actors.clerk, "If-Match": old["etag"]},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["status"] == "replaced"
    assert replaced.json()["replaced_by_id"] == new["id"]
    assert (await api.get(new["id"], actors.clerk)).json()["replaces_id"] == old["id"]
    assert "THAY THẾ" in (await api.client.get(f"/verify/{old['public_id']}")).text
    package = await api.client.get(f"/v1/directives/{new['id']}/edxml?kind=replacement", headers=actors.clerk)
    assert package.status_code == 200
    await _sequence_events(app)
    feed = (await api.client.get("/v1/events?after=0", headers=actors.monitor)).json()
    replaced_event = [e for e in feed["items"] if e["type"] == "directive.replaced"]
    assert replaced_event[0]["data"]["replaced_by"]["id"] == new["id"]


async def test_correction_links_to_the_original(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    original = await _dispatched(api, actors, letter)
    draft = await api.create(
        {**letter, "subject": "đính chính Công văn số 01/VPUB-TTĐH", "corrects_id": original["id"]}
    )
    assert draft["corrects_id"] == original["id"]
    bad = await api.client.post("/v1/directives", json={**letter, "corrects_id": draft["id"]}, headers=actors.drafter)
    assert bad.status_code == 422


async def test_archive_files_and_freezes(api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI) -> None:
    doc = await _dispatched(api, actors, letter)
    missing = await api.act(doc, "archive", actors.clerk)
    assert missing.status_code == 422
    body = {
        "records_file": {
            "file_notation": "TTĐH.01",
            "title": "Hồ sơ truyền thông mạng xã hội 2026",
            "retention": "10 năm",
        }
    }
    archived = await api.client.post(
        f"/v1/directives/{doc['id']}/archive", json=body, headers={**actors.clerk, "If-Match": doc["etag"]}
    )
    assert archived.status_code == 200, archived.text
    assert archived.json()["status"] == "archived"
    assert archived.json()["records_file_id"] is not None
    for action in ("recall", "dispatch", "archive"):
        refused = await api.act(archived.json(), action, actors.clerk, comment="x")
        assert refused.status_code in (409, 422)
    async with app.state.engine.begin() as connection:
        with pytest.raises((DBAPIError, IntegrityError)):
            await connection.execute(text("UPDATE directives SET subject = 'x' WHERE id = :id"), {"id": _id(app, doc)})
    async with app.state.engine.begin() as connection:
        with pytest.raises((DBAPIError, IntegrityError)):
            await connection.execute(
                text("DELETE FROM directive_files WHERE directive_id = :id"), {"id": _id(app, doc)}
            )


async def test_register_exports(api: Api, actors: Actors, letter: dict[str, Any], tmp_path: Path) -> None:
    first = await _dispatched(api, actors, letter)
    await api.advance(
        await api.approved({**letter, "doc_type": "KH", "subject": "Kế hoạch truyền thông"}), "issue", actors.clerk
    )
    decision = {
        **letter,
        "doc_type": "QĐ",
        "subject": "Ban hành Quy chế quản lý Kênh thông tin chính thức",
        "addressees": [],
        "body": DECISION_BODY,
        "info_recipients": [{"text": "Như Điều 3"}, {"units": ["TU"]}, {"units": ["CATP", "BCHQS"]}],
    }
    await api.advance(await api.approved(decision), "issue", actors.clerk)
    response = await api.client.get("/v1/registers/VPUB/HC/2026/export?format=xlsx", headers=actors.clerk)
    assert response.status_code == 200
    assert "filename*=UTF-8''S%E1%BB%95" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    header = next(i for i, row in enumerate(values) if row[0] == "Số, ký hiệu văn bản")
    assert values[header][:10] == (
        "Số, ký hiệu văn bản",
        "Ngày tháng văn bản",
        "Tên loại và trích yếu nội dung văn bản",
        "Người ký",
        "Nơi nhận văn bản",
        "Đơn vị, người nhận bản lưu",
        "Số lượng bản",
        "Ngày chuyển",
        "Ký nhận",
        "Ghi chú",
    )
    rows = values[header + 2 :]
    assert [r[0] for r in rows] == ["01/VPUB-TTĐH", "02/KH-VPUB", "03/QĐ-VPUB"]
    assert rows[0][1] == datetime(2026, 11, 27)  # a date, shown as 27/11/2026
    assert sheet.cell(header + 3, 2).number_format == "dd/mm/yyyy"
    assert rows[0][2].startswith("Công văn: V/v tăng cường theo dõi")
    assert rows[0][3] == "Lê Xuân Hoa"
    recipients = rows[0][4].split("\n")
    assert recipients[:3] == [
        "Sở, ban ngành thành phố",
        "Các tổ chức chính trị - xã hội",
        "Ủy ban nhân dân xã, phường",
    ]
    assert "UB MTTQVN TP" in recipients and "VP UBND TP (2,3,4,5,6,7,8,9)" in recipients
    assert "Như trên" not in recipients  # it stands for the Kính gửi listed above
    assert rows[2][4].split("\n")[0] == "Như Điều 3" and len(rows[2][4].split("\n")) == 3
    assert "nơi nhận)" not in rows[2][4]
    assert rows[0][5] == "VT, AN"
    assert rows[0][7] == datetime(2026, 11, 27)
    assert rows[1][7] in (None, "")
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9  # A4
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert sheet.print_title_rows == f"${header + 1}:${header + 2}"
    # LibreOffice opens it too: convert to CSV headless and read the same rows back.
    xlsx = tmp_path / "register.xlsx"
    xlsx.write_bytes(response.content)
    import subprocess

    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
            str(tmp_path),
            str(xlsx),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    csv_text = (tmp_path / "register.csv").read_text(encoding="utf-8")
    assert "Số, ký hiệu văn bản" in csv_text
    assert "01/VPUB-TTĐH" in csv_text
    assert "02/KH-VPUB" in csv_text
    assert "Lê Xuân Hoa" in csv_text
    pdf = await api.client.get("/v1/registers/VPUB/HC/2026/export?format=pdf", headers=actors.clerk)
    assert pdf.status_code == 200
    path = tmp_path / "register.pdf"
    path.write_bytes(pdf.content)
    text_out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "SỔ ĐĂNG KÝ VĂN BẢN ĐI" in text_out
    assert "01/VPUB-TTĐH" in text_out
    assert "02/KH-VPUB" in text_out
    assert "Như Điều 3" in text_out and "27/11/2026" in text_out
    ward = await api.client.get("/v1/registers/VPUB/HC/2026/export", headers=actors.unit_officer("X31299"))
    assert ward.status_code == 403
    assert first["notation"] == "01/VPUB-TTĐH"


async def test_webhook_subscriptions_refuse_internal_addresses(api: Api, token_factory: Any) -> None:
    integration = token_factory.headers("eoffice-1", ["integration"], "VPUB")
    for url in (
        "http://127.0.0.1:9/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest",
        "ftp://x.example/",
    ):
        refused = await api.client.post("/v1/webhook-subscriptions", json={"url": url}, headers=integration)
        assert refused.status_code == 422, (url, refused.text)
        assert refused.json()["type"].endswith("/unsafe-webhook-url")
    listing = await api.client.get("/v1/webhook-subscriptions", headers=integration)
    assert listing.json() == []


async def test_webhook_subscription_allow_listed(api: Api, token_factory: Any, app: FastAPI) -> None:
    app.state.settings.webhooks.allow_hosts = ["http://127.0.0.1:9"]
    integration = token_factory.headers("eoffice-1", ["integration"], "VPUB")
    created = await api.client.post(
        "/v1/webhook-subscriptions",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["directive.*"]},
        headers=integration,
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    listed = (await api.client.get("/v1/webhook-subscriptions", headers=integration)).json()
    assert secret not in json.dumps(listed)
    rotated = await api.client.post(
        f"/v1/webhook-subscriptions/{created.json()['subscription']['id']}/rotate-secret", headers=integration
    )
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != secret
    other = token_factory.headers("eoffice-2", ["integration"], "VPUB")
    assert (
        await api.client.post(
            f"/v1/webhook-subscriptions/{created.json()['subscription']['id']}/rotate-secret", headers=other
        )
    ).status_code == 404


async def test_inbox_applies_report_api_events_once(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    from pydantic import SecretStr

    secret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"
    app.state.settings.inbox_secrets = [SecretStr(secret)]
    doc = await _dispatched(api, actors, letter)
    event = {
        "id": "evt_1",
        "type": "obligation.acknowledged",
        "occurred_at": "2026-11-27T03:00:00Z",
        "source": "report-api",
        "subject": "obl-1",
        "sequence": 1,
        "data": {
            "directive_id": doc["id"],
            "unit_code": "X31299",
            "obligation_id": "obl-1",
            "at": "2026-11-27T03:00:00Z",
        },
    }
    body = json.dumps(event).encode()
    headers = {**signature_headers(secret, "evt_1", body), "Content-Type": "application/json"}
    first = await api.client.post("/v1/inbox/events", content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"event_id": "evt_1", "duplicate": False, "applied": True}
    second = await api.client.post("/v1/inbox/events", content=body, headers=headers)
    assert second.json()["duplicate"] is True
    tampered = await api.client.post("/v1/inbox/events", content=body.replace(b"X31299", b"X31232"), headers=headers)
    assert tampered.status_code == 401
    recipients = (await api.client.get(f"/v1/directives/{doc['id']}/recipients", headers=actors.clerk)).json()
    ward = next(i for i in recipients["items"] if i["unit_code"] == "X31299")
    assert ward["status"] == "03"
    assert ward["compliance_status"] == "acknowledged"
    assert recipients["counts"] == {"sent": 129, "03": 1}


async def test_a_late_older_event_does_not_overwrite_a_newer_compliance_status(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    """report-api's events reach the inbox out of order (a retried delivery arrives after later ones):
    the compliance status shown is the one of the latest event by `sequence`."""
    from pydantic import SecretStr

    secret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"
    app.state.settings.inbox_secrets = [SecretStr(secret)]
    doc = await _dispatched(api, actors, letter)

    async def send(sequence: int, type_: str) -> dict[str, Any]:
        event = {
            "id": f"evt_{sequence}",
            "type": type_,
            "occurred_at": "2026-11-27T03:00:00Z",
            "source": "report-api",
            "subject": "obl-1",
            "sequence": sequence,
            "data": {"directive_id": doc["id"], "unit_code": "X31299", "obligation_id": "obl-1"},
        }
        body = json.dumps(event).encode()
        headers = {**signature_headers(secret, event["id"], body), "Content-Type": "application/json"}
        response = await api.client.post("/v1/inbox/events", content=body, headers=headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def ward() -> dict[str, Any]:
        page = (await api.client.get(f"/v1/directives/{doc['id']}/recipients", headers=actors.clerk)).json()
        return next(i for i in page["items"] if i["unit_code"] == "X31299")

    assert (await send(3, "obligation.accepted"))["applied"] is True
    assert (await send(1, "obligation.acknowledged"))["applied"] is False  # late: older than "accepted"
    assert (await send(2, "obligation.submitted"))["applied"] is False
    assert ((await ward())["status"], (await ward())["compliance_status"]) == ("06", "accepted")
    # A later event (returned for revision) does replace it; the delivery status never moves back.
    assert (await send(4, "obligation.returned"))["applied"] is True
    assert ((await ward())["status"], (await ward())["compliance_status"]) == ("06", "returned")


async def test_metrics_after_a_scenario(api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI) -> None:
    await _dispatched(api, actors, letter)
    assert (await api.client.get("/metrics")).status_code == 401
    assert (await api.client.get("/metrics", headers=actors.drafter)).status_code == 403
    metrics = await api.client.get("/metrics", headers=actors.monitor)
    assert metrics.status_code == 200
    text_out = metrics.text
    assert 'route="/v1/directives/{directive_id}/issue"' in text_out
    issue_count = 'http_request_duration_seconds_count{method="POST",route="/v1/directives/{directive_id}/issue",'
    assert issue_count + 'status="200"} 1.0' in text_out
    assert 'pdf_sign_seconds_count{step="seal"}' in text_out
    assert 'pdf_render_seconds_count{step="final"}' in text_out
    assert "outbox_unsequenced_events 2.0" in text_out  # issued + dispatched, not yet relayed
    assert "outbox_dead_letters 0.0" in text_out
    assert "/v1/directives/0" not in text_out  # route templates only, never raw paths
