"""A đính chính leaves as an update package (BussinessDocType 2) naming the corrected letter; a recalled
or replaced letter is never exported as a new document; the transport queues each kind as it is."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from directive_testing import Actors, Api, Clock
from fastapi import FastAPI
from sqlalchemy import select, text

from common.edxml import BusinessDocType, parse_document_package
from common.pdf.dev_pki import ensure_dev_pki
from directive_api.exchange import transport
from directive_api.exchange.models import ExchangeOutbox


async def _dispatched(api: Api, actors: Actors, body: dict[str, Any]) -> dict[str, Any]:
    issued = await api.advance(await api.approved(body), "issue", actors.clerk)
    return await api.advance(issued, "dispatch", actors.clerk)


async def _queued(app: FastAPI, clock: Clock) -> list[tuple[str, str]]:
    async with app.state.sessionmaker() as session, session.begin():
        await transport.enqueue(session, now=clock())
    async with app.state.sessionmaker() as session:
        rows = (await session.scalars(select(ExchangeOutbox).order_by(ExchangeOutbox.id))).all()
        return [(str(row.directive_id), row.kind) for row in rows]


async def test_a_correction_is_an_update_package_of_the_letter_it_corrects(
    api: Api,
    actors: Actors,
    letter: dict[str, Any],
    app: FastAPI,
    clock: Clock,
    tmp_path: Path,
    pki_dir: Path,
) -> None:
    original = await _dispatched(api, actors, letter)
    correction = await _dispatched(
        api, actors, {**letter, "subject": "đính chính Công văn số 01/VPUB-TTĐH", "corrects_id": original["id"]}
    )
    response = await api.client.get(f"/v1/directives/{correction['id']}/edxml?kind=update", headers=actors.clerk)
    assert response.status_code == 200, response.text
    package = parse_document_package(response.content)
    assert package.business_doc_type is BusinessDocType.UPDATE
    business = package.trace_header_list.business
    assert business is not None
    first = parse_document_package(
        (await api.client.get(f"/v1/directives/{original['id']}/edxml", headers=actors.clerk)).content
    )
    assert first.document_id is not None and first.document_id.endswith(",01/VPUB-TTĐH")
    assert business.document_id == first.document_id  # the letter it updates
    assert package.document_id is not None and package.document_id.endswith(",02/VPUB-TTĐH")  # its own number
    assert business.business_doc_reason == "Đính chính văn bản 01/VPUB-TTĐH"
    assert business.business_document_info is not None
    assert business.business_document_info.document_info == 1
    assert business.business_document_info.document_receiver == 0  # same recipients
    (info,) = business.replacement_info_list
    assert info.document_id == first.document_id
    assert sorted(info.organ_ids) == sorted(r.organ_id for r in first.header.recipients)
    assert len(info.organ_ids) == 130
    # Signed with the Office's seal: xmlsec1 (Debian's, an independent verifier) checks the signature.
    signed = tmp_path / "update.edxml"
    signed.write_bytes(response.content)
    checked = subprocess.run(
        ["xmlsec1", "--verify", "--trusted-pem", str(ensure_dev_pki(pki_dir).root_cert_pem), str(signed)],
        capture_output=True,
        timeout=60,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr

    # Only a đính chính has an update package.
    refused = await api.client.get(f"/v1/directives/{original['id']}/edxml?kind=update", headers=actors.clerk)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"

    # The transport sends the original as a document and the correction as its update.
    queued = await _queued(app, clock)  # one round may queue both: their order is not the point here
    assert sorted(queued) == sorted([(original["id"], "document"), (correction["id"], "update")])


async def test_a_recalled_or_replaced_letter_never_leaves_as_a_new_document(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI, clock: Clock
) -> None:
    recalled = await _dispatched(api, actors, letter)
    # Before anything else, even when a recipient lacks an organ id (that would be a 422).
    async with app.state.engine.begin() as connection:
        await connection.execute(text("UPDATE units SET organ_id = NULL WHERE code = 'SYT'"))
    await api.advance(recalled, "recall", actors.clerk, comment="Sai đối tượng nhận.")
    again = await api.client.get(f"/v1/directives/{recalled['id']}/edxml", headers=actors.clerk)
    assert again.status_code == 409, again.text
    assert "kind=revocation" in again.json()["detail"]
    async with app.state.engine.begin() as connection:
        await connection.execute(text("UPDATE units SET organ_id = '000.00.90.H13' WHERE code = 'SYT'"))

    old = await _dispatched(api, actors, {**letter, "subject": "văn bản sẽ được thay thế"})
    new = await api.advance(await api.approved({**letter, "subject": "thay thế văn bản trước"}), "issue", actors.clerk)
    current = (await api.get(old["id"], actors.clerk)).json()
    replaced = await api.client.post(
        f"/v1/directives/{old['id']}/replace",
        json={"replacement_id": new["id"]},
        headers={**actors.clerk, "If-Match": current["etag"]},
    )
    assert replaced.status_code == 200, replaced.text
    refused = await api.client.get(f"/v1/directives/{old['id']}/edxml?kind=document", headers=actors.clerk)
    assert refused.status_code == 409
    assert "kind=replacement" in refused.json()["detail"]
    await api.advance(new, "dispatch", actors.clerk)
    # The recalled and the replaced letters were never sent: nothing of theirs is queued; the
    # replacing letter leaves as a replacement package (BussinessDocType 3).
    assert await _queued(app, clock) == [(new["id"], "replacement")]
