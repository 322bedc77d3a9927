"""Signature blocks per signing authority (TM., KT., …): chosen when drafting, checked against the signer."""

from __future__ import annotations

from typing import Any

from directive_testing import Actors, Api


def _ubnd_letter(letter: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**letter, "issuer_code": "UBND-TP", "drafting_unit": "KT", "signer_id": "nguyen-thanh-long", **changes}


async def test_the_authority_picks_the_signers_block(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    drafter = actors.tokens.headers("ubnd-chuyen-vien", ["drafter"], "UBND-TP")
    default = await api.create(_ubnd_letter(letter), drafter)
    assert default["signature_title_lines"] == ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]
    assert default["number_line"] == "Số:    /UBND-KT"
    collective = await api.create(_ubnd_letter(letter, signing_authority="TM."), drafter)
    assert collective["signature_title_lines"] == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]

    # Changing only the authority of a draft re-reads the same signer's block.
    changed = await api.client.patch(
        f"/v1/directives/{default['id']}",
        json={"signing_authority": "TM."},
        headers={**drafter, "If-Match": default["etag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["signature_title_lines"] == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]
    # The chair signing the same draft gets the chair's block for that authority.
    chair = await api.client.patch(
        f"/v1/directives/{default['id']}",
        json={"signer_id": "truong-canh-tuyen", "signing_authority": "TM."},
        headers={**drafter, "If-Match": changed.json()["etag"]},
    )
    assert chair.status_code == 200, chair.text
    assert chair.json()["signature_title_lines"] == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]


async def test_an_authority_the_signer_has_no_block_for_is_refused(
    api: Api, actors: Actors, letter: dict[str, Any]
) -> None:
    drafter = actors.tokens.headers("ubnd-chuyen-vien", ["drafter"], "UBND-TP")
    refused = await api.client.post(
        "/v1/directives", json=_ubnd_letter(letter, signing_authority="TUQ."), headers=drafter
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert {"location": ["body", "signing_authority"], "message": "the signer has no signature block for TUQ."} in (
        refused.json()["errors"]
    )
    unknown = await api.client.post(
        "/v1/directives", json=_ubnd_letter(letter, signing_authority="XX."), headers=drafter
    )
    assert unknown.status_code == 422
    listed = await api.client.get("/v1/directives", headers=drafter)
    assert listed.json()["items"] == []
