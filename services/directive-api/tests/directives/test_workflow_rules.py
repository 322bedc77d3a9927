"""Who may do what, and that a refused action changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from directive_testing import Actors, Api


async def _snapshot(api: Api, doc_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    response = await api.get(doc_id, api.actors.monitor)
    assert response.status_code == 200
    return response.json(), await api.history(doc_id)


def _assert_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if slug:
        assert body["type"].endswith("/" + slug), body
    return body


async def test_drafter_cannot_approve(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.advance(await api.create(letter), "submit", actors.drafter)
    before = await _snapshot(api, doc["id"])
    _assert_problem(await api.act(doc, "approve", actors.drafter), 403, "forbidden")
    assert await _snapshot(api, doc["id"]) == before


async def test_signer_who_is_not_designated_cannot_approve(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.advance(await api.create(letter), "submit", actors.drafter)
    before = await _snapshot(api, doc["id"])
    body = _assert_problem(await api.act(doc, "approve", actors.other_signer), 403, "forbidden")
    assert "designated" in body["detail"]
    assert await _snapshot(api, doc["id"]) == before


async def test_clerk_cannot_issue_unapproved(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.advance(await api.create(letter), "submit", actors.drafter)
    before = await _snapshot(api, doc["id"])
    body = _assert_problem(await api.act(doc, "issue", actors.clerk), 409, "transition-not-allowed")
    assert body["current_status"] == "submitted"
    assert await _snapshot(api, doc["id"]) == before
    registers = await api.client.get("/v1/registers", headers=actors.clerk)
    assert registers.json() == []


async def test_recipient_unit_cannot_read_drafts(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.create(letter)
    ward = actors.unit_officer("X31299")
    _assert_problem(await api.get(doc["id"], ward), 403, "directive-not-visible")
    _assert_problem(await api.client.get(f"/v1/directives/{doc['id']}/history", headers=ward), 403)
    listing = await api.client.get("/v1/directives", headers=ward)
    assert listing.status_code == 200
    assert listing.json()["items"] == []
    # A unit that is not addressed does not even learn that the document exists.
    _assert_problem(await api.get(doc["id"], actors.unit_officer("VPUB-NOT-A-UNIT")), 404)


async def test_recipient_unit_reads_the_issued_letter(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.advance(await api.approved(letter), "issue", actors.clerk)
    ward = actors.unit_officer("X31299")
    response = await api.get(doc["id"], ward)
    assert response.status_code == 200
    assert response.json()["notation"] == "01/VPUB-TTĐH"
    assert response.json()["allowed_actions"] == []
    listing = (await api.client.get("/v1/directives", headers=ward)).json()
    assert [d["id"] for d in listing["items"]] == [doc["id"]]
    # Information recipients see it too; units outside both lists do not.
    assert (await api.get(doc["id"], actors.unit_officer("CATP"))).status_code == 200
    _assert_problem(await api.get(doc["id"], actors.unit_officer("UBND-TP")), 404)


async def test_unit_officer_cannot_act_on_a_document(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.advance(await api.approved(letter), "issue", actors.clerk)
    ward = actors.unit_officer("X31299")
    before = await _snapshot(api, doc["id"])
    for action in ("submit", "approve", "issue", "return"):
        _assert_problem(await api.act(doc, action, ward, comment="x"), 403)
    patch = await api.client.patch(
        f"/v1/directives/{doc['id']}", json={"subject": "khác"}, headers={**ward, "If-Match": doc["etag"]}
    )
    _assert_problem(patch, 403)
    assert await _snapshot(api, doc["id"]) == before


async def test_return_needs_a_comment(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.advance(await api.create(letter), "submit", actors.drafter)
    _assert_problem(await api.act(doc, "return", actors.reviewer), 422, "comment-required")
    returned = await api.advance(doc, "return", actors.signer, comment="Sửa lại mục 2.")
    assert returned["status"] == "returned"
    # The non-designated signer, without the reviewer role, may not return it.
    doc2 = await api.advance(await api.create(letter), "submit", actors.drafter)
    _assert_problem(await api.act(doc2, "return", actors.other_signer, comment="x"), 403)


async def test_issued_document_cannot_be_edited(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.advance(await api.approved(letter), "issue", actors.clerk)
    response = await api.client.patch(
        f"/v1/directives/{doc['id']}", json={"subject": "khác"}, headers={**actors.drafter, "If-Match": doc["etag"]}
    )
    _assert_problem(response, 409, "directive-not-editable")


@pytest.mark.parametrize("action", ["submit", "approve"])
async def test_transitions_need_if_match(api: Api, actors: Actors, letter: dict[str, Any], action: str) -> None:
    doc = await api.create(letter)
    if action == "approve":
        doc = await api.advance(doc, "submit", actors.drafter)
    headers = actors.signer if action == "approve" else actors.drafter
    missing = await api.client.post(f"/v1/directives/{doc['id']}/{action}", headers=headers)
    _assert_problem(missing, 428, "precondition-required")
    stale = await api.client.post(f"/v1/directives/{doc['id']}/{action}", headers={**headers, "If-Match": '"99"'})
    body = _assert_problem(stale, 412, "version-mismatch")
    assert body["current_etag"] == doc["etag"]


async def test_stale_edit_is_refused(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.create(letter)
    url = f"/v1/directives/{doc['id']}"
    first = await api.client.patch(
        url, json={"subject": "lần một"}, headers={**actors.drafter, "If-Match": doc["etag"]}
    )
    assert first.status_code == 200
    second = await api.client.patch(
        url, json={"subject": "lần hai"}, headers={**actors.drafter, "If-Match": doc["etag"]}
    )
    _assert_problem(second, 412)
    missing = await api.client.patch(url, json={"subject": "lần ba"}, headers=actors.drafter)
    _assert_problem(missing, 428)
    assert (await api.get(doc["id"], actors.drafter)).json()["subject"] == "lần một"


async def test_unknown_action_is_404(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.create(letter)
    response = await api.client.post(f"/v1/directives/{doc['id']}/publish", headers=actors.drafter)
    _assert_problem(response, 404)
