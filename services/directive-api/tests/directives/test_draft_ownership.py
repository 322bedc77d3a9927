"""A draft is its author's, and every change of a document names the version it was made on.

Before: a drafter edited and submitted another drafter's draft (both 200), and ``If-Match: *``
skipped the lost-update check on PATCH and on every transition.
"""

from __future__ import annotations

from typing import Any

import pytest
from directive_testing import Actors, Api


async def test_only_the_author_edits_and_submits_a_draft(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.create(letter)
    colleague = actors.tokens.headers("nguyen-thi-cuc", ["drafter"], "VPUB")
    url = f"/v1/directives/{doc['id']}"
    edited = await api.client.patch(url, json={"subject": "Sửa hộ"}, headers={**colleague, "If-Match": doc["etag"]})
    assert edited.status_code == 403, edited.text
    assert edited.headers["content-type"] == "application/problem+json"
    submitted = await api.act(doc, "submit", colleague)
    assert submitted.status_code == 403, submitted.text
    after = (await api.get(doc["id"], actors.drafter)).json()
    assert (after["version"], after["status"], after["subject"]) == (1, "draft", doc["subject"])
    assert [h["action"] for h in await api.history(doc["id"])] == ["create"]
    # the author still may, and after a return too
    doc = await api.advance(doc, "submit", actors.drafter)
    doc = await api.advance(doc, "return", actors.reviewer, comment="Đề nghị sửa trích yếu.")
    assert (await api.act(doc, "submit", colleague)).status_code == 403
    response = await api.client.patch(
        url, json={"subject": "Trích yếu mới"}, headers={**actors.drafter, "If-Match": doc["etag"]}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("if_match", ["*", " *", '"1", *'])
async def test_if_match_star_is_refused_for_documents(
    api: Api, actors: Actors, letter: dict[str, Any], if_match: str
) -> None:
    doc = await api.create(letter)
    url = f"/v1/directives/{doc['id']}"
    response = await api.client.patch(url, json={"subject": "Đè lên"}, headers={**actors.drafter, "If-Match": if_match})
    assert response.status_code == 428, response.text
    assert response.headers["content-type"] == "application/problem+json"
    submitted = await api.client.post(f"{url}/submit", headers={**actors.drafter, "If-Match": if_match})
    assert submitted.status_code == 428, submitted.text
    attached = await api.client.post(
        f"{url}/attachments?name=Phụ lục.pdf",
        content=b"%PDF-1.4\n",
        headers={**actors.drafter, "If-Match": if_match, "Content-Type": "application/pdf"},
    )
    assert attached.status_code == 428, attached.text
    after = (await api.get(doc["id"], actors.drafter)).json()
    assert (after["version"], after["status"], after["subject"]) == (1, "draft", doc["subject"])
