"""Reading a person: the Office's directory administrators read every field they can write, with how
the person signs (``signing_mode``, ``signing_certificate``); other callers read the person without
it."""

from __future__ import annotations

from pathlib import Path

import httpx
from directive_testing import Actors


async def test_the_admin_reads_how_a_person_signs_and_others_do_not(
    client: httpx.AsyncClient, actors: Actors, pki_dir: Path
) -> None:
    admin = actors.tokens.headers("quan-tri-vien", ["admin"], "VPUB")
    certificate = (pki_dir / "root-ca.pem").read_text()
    changed = await client.patch(
        "/v1/people/le-xuan-hoa",
        json={"signing_mode": "client", "signing_certificate": certificate},
        headers={**admin, "If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text

    read = await client.get("/v1/people/le-xuan-hoa", headers=admin)
    assert read.status_code == 200, read.text
    assert read.json() == changed.json()
    assert read.json()["signing_mode"] == "client" and read.json()["signing_certificate"] == certificate
    assert read.headers["ETag"] == changed.headers["ETag"] == '"2"'

    exported = await client.get("/v1/directory/export", headers=admin)
    [person] = [p for p in exported.json()["people"] if p["id"] == "le-xuan-hoa"]
    assert {k: v for k, v in read.json().items() if k in person} == {k: person[k] for k in read.json() if k in person}

    for headers in (
        actors.drafter,
        actors.unit_officer("SNV"),
        actors.tokens.headers("admin-snv", ["admin"], "SNV"),  # an admin, but not of the Office
    ):
        other = await client.get("/v1/people/le-xuan-hoa", headers=headers)
        assert other.status_code == 200, other.text
        assert "signing_certificate" not in other.json() and "signing_mode" not in other.json()
        assert other.json()["signature_title_lines"] == read.json()["signature_title_lines"]
    listed = await client.get("/v1/people", params={"unit": "VPUB"}, headers=admin)
    assert all("signing_certificate" not in p for p in listed.json())
