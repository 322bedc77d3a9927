"""Reports are checked against the document's template; evidence is checked by content and size."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from report_testing import PDF_BYTES, PNG_BYTES, VALID_REPORT, Api

from report_api.settings import Settings


async def _ready(api: Api, unit: str = "X31299") -> dict[str, Any]:
    directive = await api.dispatch()
    ob = await api.obligation_of(unit, directive["id"])
    await api.acknowledge(ob["id"], unit)
    return ob


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**VALID_REPORT, "facebook_followers": -1}, "facebook_followers"),
        ({**VALID_REPORT, "facebook_followers": "12"}, "facebook_followers"),
        ({**VALID_REPORT, "posts_shared": True}, "posts_shared"),
        ({k: v for k, v in VALID_REPORT.items() if k != "zalo_followers"}, "zalo_followers"),
        ({**VALID_REPORT, "website_link_url": "javascript:alert(1)"}, "website_link_url"),
        ({**VALID_REPORT, "status": "accepted"}, "status"),
        ({**VALID_REPORT, "evidence": ["not-a-uuid"]}, "evidence.0"),
    ],
)
async def test_reports_violating_the_template_are_refused(api: Api, data: dict[str, Any], field: str) -> None:
    ob = await _ready(api)
    response = await api.client.post(
        f"/v1/obligations/{ob['id']}/submissions", json={"data": data}, headers=api.actors.unit_officer("X31299")
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    after = (await api.get(ob["id"], api.actors.unit_officer("X31299"))).json()
    assert after["status"] == "acknowledged" and after["submissions"] == [] and after["version"] == 2
    await api.sequence_events()
    events = await api.ok("GET", "/v1/events", api.actors.integration)
    assert [e["type"] for e in events["items"]] == ["obligation.acknowledged"]


async def _upload(api: Api, oid: str, name: str, content: bytes, content_type: str, unit: str = "X31299") -> Any:
    return await api.client.post(
        f"/v1/obligations/{oid}/evidence",
        files={"file": (name, content, content_type)},
        headers=api.actors.unit_officer(unit),
    )


async def test_evidence_upload_download_and_citation(api: Api, settings: Settings) -> None:
    ob = await _ready(api)
    name = "Ảnh chụp; trang Facebook\u202e.png"
    response = await _upload(api, ob["id"], name, PNG_BYTES, "application/octet-stream")
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["media_type"] == "image/png"
    assert item["sha256"] == hashlib.sha256(PNG_BYTES).hexdigest()
    assert item["filename"].endswith(".png") and "\u202e" not in item["filename"]
    stored = list(Path(settings.evidence_dir).rglob("*"))
    assert [p.read_bytes() for p in stored if p.is_file()] == [PNG_BYTES]

    download = await api.client.get(
        f"/v1/obligations/{ob['id']}/evidence/{item['id']}", headers=api.actors.unit_officer("X31299")
    )
    assert download.status_code == 200 and download.content == PNG_BYTES
    assert download.headers["content-type"] == "image/png"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert disposition == (
        'attachment; filename="Anh chup_ trang Facebook.png"; '
        "filename*=UTF-8''%E1%BA%A2nh%20ch%E1%BB%A5p%3B%20trang%20Facebook.png"
    )
    assert download.headers["x-content-type-options"] == "nosniff"
    office = await api.client.get(f"/v1/obligations/{ob['id']}/evidence/{item['id']}", headers=api.actors.monitor)
    assert office.status_code == 200

    pdf = (await _upload(api, ob["id"], "bao-cao.pdf", PDF_BYTES, "application/pdf")).json()
    submission = await api.submit(ob["id"], "X31299", {**VALID_REPORT, "evidence": [item["id"], pdf["id"]]})
    assert submission["evidence_ids"] == [item["id"], pdf["id"]]


async def test_disguised_oversized_and_foreign_evidence_are_refused(api: Api, settings: Settings) -> None:
    ob = await _ready(api)
    html = b"<html><script>alert(1)</script></html>"
    disguised = await _upload(api, ob["id"], "bao-cao.pdf", html, "application/pdf")
    assert disguised.status_code == 415
    assert disguised.headers["content-type"] == "application/problem+json"
    exe = await _upload(api, ob["id"], "anh.jpg", b"MZ\x90\x00" + b"\x00" * 100, "image/jpeg")
    assert exe.status_code == 415
    big = await _upload(api, ob["id"], "lon.pdf", PDF_BYTES + b"0" * settings.evidence_max_bytes, "application/pdf")
    assert big.status_code == 413
    assert big.json()["max_bytes"] == settings.evidence_max_bytes
    assert [p for p in Path(settings.evidence_dir).rglob("*") if p.is_file()] == []
    detail = (await api.get(ob["id"], api.actors.unit_officer("X31299"))).json()
    assert detail["evidence"] == []

    # evidence of another unit's obligation cannot be cited
    other = await api.obligation_of("SNV", detail["directive"]["id"])
    theirs = (await _upload(api, other["id"], "snv.pdf", PDF_BYTES, "application/pdf", unit="SNV")).json()
    cited = await api.client.post(
        f"/v1/obligations/{ob['id']}/submissions",
        json={"data": {**VALID_REPORT, "evidence": [theirs["id"]]}},
        headers=api.actors.unit_officer("X31299"),
    )
    assert cited.status_code == 422
    assert cited.json()["missing_evidence"] == [theirs["id"]]


async def test_review_by_a_unit_officer_is_refused_and_changes_nothing(api: Api) -> None:
    ob = await _ready(api)
    await api.submit(ob["id"], "X31299", VALID_REPORT)
    for headers in (api.actors.unit_officer("X31299"), api.actors.foreign_monitor):
        response = await api.client.post(
            f"/v1/obligations/{ob['id']}/review", json={"decision": "accept"}, headers=headers
        )
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
    after = (await api.get(ob["id"], api.actors.monitor)).json()
    assert after["status"] == "submitted" and after["submissions"][0]["review_status"] == "pending"
    await api.sequence_events()
    events = await api.ok("GET", "/v1/events", api.actors.integration)
    assert [e["type"] for e in events["items"]] == ["obligation.acknowledged", "obligation.submitted"]
