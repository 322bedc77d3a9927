"""A unit's reply document linked to its delivery shows on the document's recipients: its code,
subject and DocumentId, for the issuing office and for the replying unit, not on other deliveries."""

from __future__ import annotations

from typing import Any

import httpx
from directive_testing import Actors, Api

from common.edxml import (
    Attachment,
    Organization,
    build_document_package,
    make_document_package,
    parse_document_package,
    response_for_document,
)

REPORT_PDF = b"%PDF-1.7\n" + b"bao cao " * 500 + b"\n%%EOF\n"
SUBJECT = "Báo cáo kết quả theo dõi, chia sẻ Kênh thông tin chính thức"


def _reply_package(ours: bytes, unit: Organization, code: str) -> tuple[bytes, str]:
    """The unit's reply to our letter (one package, so posting it twice is the same package), and its DocumentId."""
    letter = parse_document_package(ours)
    number, notation = code.split("/", 1)
    document_id = f"{unit.organ_id},2026/12/01,{code}"
    header = letter.header.model_copy(
        update={
            "sender": unit,
            "recipients": (letter.header.sender,),
            "subject": SUBJECT,
            "document_id": document_id,
            "code": letter.header.code.model_copy(update={"code_number": number, "code_notation": notation})
            if letter.header.code
            else None,
            "response_for": (response_for_document(letter),),
        }
    )
    return build_document_package(
        make_document_package(
            header,
            attachments=(
                Attachment(
                    content_id="r1",
                    attachment_name="15-BC-SNV.pdf",
                    content_type="application/pdf",
                    content=REPORT_PDF,
                ),
            ),
        )
    ), document_id


async def _post(client: httpx.AsyncClient, actors: Actors, package: bytes) -> None:
    headers = {**actors.tokens.headers("clerk-snv", ["clerk"], "SNV"), "Content-Type": "application/xml"}
    response = await client.post("/v1/edxml/inbox", content=package, headers=headers)
    assert response.status_code == 202, response.text


async def test_the_linked_reply_shows_on_the_units_delivery(
    client: httpx.AsyncClient, api: Api, actors: Actors, letter: dict[str, Any]
) -> None:
    doc = await api.advance(await api.approved(letter), "issue", actors.clerk)
    doc = await api.advance(doc, "dispatch", actors.clerk)
    ours = (await client.get(f"/v1/directives/{doc['id']}/edxml", headers=actors.clerk)).content
    organ = parse_document_package(ours).header.recipients
    snv = next(o for o in organ if o.organ_id and o.organ_name and "Nội vụ" in o.organ_name)
    url = f"/v1/directives/{doc['id']}/recipients"

    before = (await client.get(url, headers=actors.clerk)).json()
    assert all(item["reply"] is None for item in before["items"])

    package, document_id = _reply_package(
        ours, Organization(organ_id=snv.organ_id, organ_name="Sở Nội vụ"), "15/BC-SNV"
    )
    await _post(client, actors, package)
    items = (await client.get(url, headers=actors.clerk)).json()["items"]
    (linked,) = [item for item in items if item["reply"] is not None]
    assert linked["unit_code"] == "SNV"
    reply = linked["reply"]
    assert (reply["code"], reply["subject"], reply["document_id"]) == ("15/BC-SNV", SUBJECT, document_id)
    assert isinstance(reply["package_id"], int) and reply["received_at"]

    # The replying unit sees its own delivery with it; the same reply again changes nothing.
    own = (await client.get(url, headers=actors.unit_officer("SNV"))).json()["items"]
    assert [(i["unit_code"], i["reply"]["code"]) for i in own] == [("SNV", "15/BC-SNV")]
    await _post(client, actors, package)
    again = (await client.get(url, headers=actors.clerk)).json()["items"]
    assert [i["reply"] for i in again if i["reply"]] == [reply]

    # It opens from there: its header and its attachment, for the office and the replying unit only.
    opened = await client.get(f"/v1/edxml/replies/{reply['package_id']}", headers=actors.clerk)
    assert opened.status_code == 200, opened.text
    body = opened.json()
    assert (body["directive_id"], body["unit_code"], body["code"], body["subject"]) == (
        doc["id"],
        "SNV",
        "15/BC-SNV",
        SUBJECT,
    )
    assert body["sender"]["organ_id"] == snv.organ_id
    assert [(a["index"], a["name"], a["size"]) for a in body["attachments"]] == [(0, "15-BC-SNV.pdf", len(REPORT_PDF))]
    pdf = await client.get(f"/v1/edxml/replies/{reply['package_id']}/attachments/0", headers=actors.unit_officer("SNV"))
    assert (pdf.status_code, pdf.headers["content-type"], pdf.content) == (200, "application/pdf", REPORT_PDF)
    for path, who in (
        (f"/v1/edxml/replies/{reply['package_id']}", actors.unit_officer("STP")),
        (f"/v1/edxml/replies/{reply['package_id']}/attachments/0", actors.unit_officer("STP")),
        (f"/v1/edxml/replies/{reply['package_id']}/attachments/1", actors.clerk),
        (f"/v1/edxml/replies/{reply['package_id'] + 1000}", actors.clerk),
    ):
        missing = await client.get(path, headers=who)
        assert missing.status_code == 404, (path, missing.text)
        assert missing.headers["content-type"] == "application/problem+json"
