"""A unit retired from the directory is offered for nothing new: no draft may name it, a document
naming a unit retired since drafting stops at submit, review, approval and issue with a problem that
names the units, and dispatch never silently drops a unit the issued text names. A group's retired
members are simply no members any more."""

from __future__ import annotations

from typing import Any

import httpx
from directive_testing import Actors, Api


def _admin(actors: Actors) -> dict[str, str]:
    return actors.tokens.headers("quan-tri-vien", ["admin"], "VPUB")


async def _retire(client: httpx.AsyncClient, actors: Actors, code: str) -> None:
    etag = (await client.get(f"/v1/orgs/{code}", headers=_admin(actors))).headers["ETag"]
    retired = await client.patch(
        f"/v1/orgs/{code}", json={"is_active": False}, headers={**_admin(actors), "If-Match": etag}
    )
    assert retired.status_code == 200, retired.text


def _to_snv(letter: dict[str, Any]) -> dict[str, Any]:
    return {**letter, "addressees": [{"unit": "SNV"}], "info_recipients": [{"as_above": True}]}


async def _recipients(client: httpx.AsyncClient, actors: Actors, doc: dict[str, Any]) -> list[str]:
    page = await client.get(f"/v1/directives/{doc['id']}/recipients", headers=actors.clerk)
    assert page.status_code == 200, page.text
    return [item["unit_code"] for item in page.json()["items"]]


async def test_a_new_or_edited_draft_cannot_name_a_retired_unit(
    client: httpx.AsyncClient, actors: Actors, api: Api, letter: dict[str, Any]
) -> None:
    draft = await api.create(letter)
    await _retire(client, actors, "SNV")
    await _retire(client, actors, "TU")

    created = await client.post(
        "/v1/directives",
        json={**letter, "addressees": [{"unit": "SNV"}], "info_recipients": [{"units": ["TU", "CATP"]}]},
        headers=actors.drafter,
    )
    assert created.status_code == 422, created.text
    assert created.headers["content-type"] == "application/problem+json"
    assert created.json()["errors"] == [
        {"location": ["body", "addressees", "0", "unit"], "message": "unit SNV is retired from the directory"},
        {"location": ["body", "info_recipients", "0", "units"], "message": "unit TU is retired from the directory"},
    ]

    edited = await client.patch(
        f"/v1/directives/{draft['id']}",
        json={"addressees": [{"group": "department"}, {"unit": "SNV"}]},
        headers={**actors.drafter, "If-Match": draft["etag"]},
    )
    assert edited.status_code == 422, edited.text
    assert "SNV" in edited.json()["errors"][0]["message"]
    unchanged = (await api.get(draft["id"], actors.drafter)).json()
    assert unchanged["addressees"] == letter["addressees"] and unchanged["etag"] == draft["etag"]


async def test_a_draft_naming_a_unit_retired_since_is_refused_at_submit_and_approval(
    client: httpx.AsyncClient, actors: Actors, api: Api, letter: dict[str, Any]
) -> None:
    draft = await api.create(_to_snv(letter))
    submitted = await api.advance(await api.create(_to_snv(letter)), "submit", actors.drafter)
    await _retire(client, actors, "SNV")

    refused = await api.act(draft, "submit", actors.drafter)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"].endswith("/retired-recipient") and problem["units"] == ["SNV"]
    assert "edit the draft" in problem["detail"]
    assert (await api.get(draft["id"], actors.drafter)).json()["status"] == "draft"

    refused = await api.act(submitted, "approve", actors.signer)
    assert refused.status_code == 409, refused.text
    assert refused.json()["units"] == ["SNV"] and "return the document" in refused.json()["detail"]
    assert (await api.get(submitted["id"], actors.drafter)).json()["status"] == "submitted"

    # What the problem advises works: returned, edited to an active unit, it goes through.
    returned = await api.advance(submitted, "return", actors.signer, comment="Sở Nội vụ đã giải thể")
    fixed = await client.patch(
        f"/v1/directives/{returned['id']}",
        json={"addressees": [{"unit": "STC"}]},
        headers={**actors.drafter, "If-Match": returned["etag"]},
    )
    assert fixed.status_code == 200, fixed.text
    approved = await api.advance(await api.advance(fixed.json(), "submit", actors.drafter), "approve", actors.signer)
    assert approved["status"] == "approved"


async def test_issue_is_refused_when_a_named_unit_was_retired_since_approval(
    client: httpx.AsyncClient, actors: Actors, api: Api, letter: dict[str, Any]
) -> None:
    approved = await api.approved(_to_snv(letter))
    await _retire(client, actors, "SNV")
    refused = await api.act(approved, "issue", actors.clerk)
    assert refused.status_code == 409, refused.text
    assert refused.json()["units"] == ["SNV"] and "is_active" in refused.json()["detail"]
    assert (await api.get(approved["id"], actors.clerk)).json()["status"] == "approved"
    registers = await client.get("/v1/registers", headers=actors.clerk)
    assert registers.status_code == 200 and registers.json() == []


async def test_dispatch_never_drops_a_unit_the_issued_text_names(
    client: httpx.AsyncClient, actors: Actors, api: Api, letter: dict[str, Any]
) -> None:
    issued = await api.advance(await api.approved(_to_snv(letter)), "issue", actors.clerk)
    await _retire(client, actors, "SNV")
    # Issued before SNV was retired: the issued text names it, so it is delivered.
    dispatched = await api.advance(issued, "dispatch", actors.clerk)
    assert dispatched["status"] == "dispatched"
    assert await _recipients(client, actors, dispatched) == ["SNV"]


async def test_a_groups_retired_members_are_no_members_any_more(
    client: httpx.AsyncClient, actors: Actors, api: Api, letter: dict[str, Any]
) -> None:
    body = {**letter, "addressees": [{"group": "department"}], "info_recipients": [{"as_above": True}]}
    approved = await api.approved(body)
    await _retire(client, actors, "SNV")
    members = (await client.get("/v1/org-groups/department", headers=actors.drafter)).json()
    issued = await api.advance(approved, "issue", actors.clerk)
    dispatched = await api.advance(issued, "dispatch", actors.clerk)
    recipients = await _recipients(client, actors, dispatched)
    assert "SNV" not in recipients and "STC" in recipients
    assert sorted(recipients) == sorted(u["code"] for u in members["units"])
