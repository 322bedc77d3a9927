"""Register numbers: consecutive from 1, never skipped, never reused, also under concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from directive_testing import Actors, Api

from directive_api.directives import service

CONCURRENT_ISSUES = 10
"""How many documents are issued at once. What is proved is that transactions racing for the next
number of one register each get a different one, with none skipped: any two concurrent issues race
the same way, and 10 (the test client sends them all before any returns) keep five times as many
transactions waiting on the register as the machine has cores, from 01 past 09 to the two-digit 10
(the notation's padding). Each issue also fills, seals and verifies its PDF in a worker process and
each approval renders and signs one: the 50 issues this test once made cost five times the work
(58 CPU seconds against 23 for the file's test on both backends, side by side) for no interleaving
that 10 lack, and 40 of them queued for the 10 connections of the process's pool (``pool_size``),
which on a busy host ran past its 30 s timeout (503 database-busy), so the test had to run alone in
the serial part. 10 is the pool's size: no issue waits for a connection, and the test runs in the
parallel part with the others."""


async def test_concurrent_issues_get_consecutive_numbers_from_1(
    api: Api, actors: Actors, letter: dict[str, Any]
) -> None:
    docs = [await api.approved(letter) for _ in range(CONCURRENT_ISSUES)]
    responses = await asyncio.gather(*(api.act(doc, "issue", actors.clerk) for doc in docs))
    assert [r.status_code for r in responses] == [200] * CONCURRENT_ISSUES, [
        r.text for r in responses if r.status_code != 200
    ]
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == list(range(1, CONCURRENT_ISSUES + 1))
    notations = {r.json()["notation"] for r in responses}
    assert {"01/VPUB-TTĐH", "09/VPUB-TTĐH", "10/VPUB-TTĐH"} <= notations
    assert len(notations) == CONCURRENT_ISSUES
    register = (await api.client.get("/v1/registers/VPUB/HC/2026", headers=actors.clerk)).json()
    assert register["last_number"] == CONCURRENT_ISSUES
    assert [e["number"] for e in register["entries"]] == list(range(1, CONCURRENT_ISSUES + 1))


async def test_racing_issues_of_one_document_give_one_number(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    doc = await api.approved(letter)
    other = await api.approved(letter)
    first, second = await asyncio.gather(api.act(doc, "issue", actors.clerk), api.act(doc, "issue", actors.clerk))
    statuses = sorted([first.status_code, second.status_code])
    assert statuses[0] == 200
    assert statuses[1] in (409, 412)
    # The loser's transaction (which may have taken a number before losing) rolled back.
    issued_other = await api.advance(other, "issue", actors.clerk)
    assert issued_other["number"] == 2


async def test_rolled_back_issue_leaves_no_gap(
    api: Api, actors: Actors, letter: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await api.approved(letter)
    second = await api.approved(letter)
    real = service.compose_notation

    def failing(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("disk full while writing the register")

    monkeypatch.setattr(service, "compose_notation", failing)
    failed = await api.act(first, "issue", actors.clerk)
    assert failed.status_code == 500
    assert failed.headers["content-type"] == "application/problem+json"
    monkeypatch.setattr(service, "compose_notation", real)

    after = (await api.get(first["id"], actors.clerk)).json()
    assert after["status"] == "approved"
    assert after["number"] is None
    assert [h["action"] for h in await api.history(first["id"])] == ["create", "submit", "approve"]

    issued = await api.advance(second, "issue", actors.clerk)
    assert issued["number"] == 1
    issued_first = await api.advance(after, "issue", actors.clerk)
    assert issued_first["number"] == 2


async def test_secret_documents_have_their_own_series(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    plain = await api.advance(await api.approved(letter), "issue", actors.clerk)
    secret = await api.advance(await api.approved({**letter, "secrecy": "MẬT"}), "issue", actors.clerk)
    assert (plain["register_code"], plain["number"]) == ("HC", 1)
    assert (secret["register_code"], secret["number"]) == ("MAT", 1)


async def test_new_year_starts_again_at_one(api: Api, actors: Actors, letter: dict[str, Any], clock: Any) -> None:
    from datetime import UTC, datetime

    clock.now = datetime(2026, 12, 31, 16, 59, 59, tzinfo=UTC)  # 23:59:59 in Cần Thơ
    last = await api.advance(await api.approved(letter), "issue", actors.clerk)
    clock.now = datetime(2026, 12, 31, 17, 0, 0, tzinfo=UTC)  # 00:00:00 on 1 January 2027 in Cần Thơ
    first = await api.advance(await api.approved(letter), "issue", actors.clerk)
    assert (last["issued_on"], last["number"]) == ("2026-12-31", 1)
    assert (first["issued_on"], first["number"]) == ("2027-01-01", 1)
    assert first["place_date_line"] == "Cần Thơ, ngày 01 tháng 01 năm 2027"


async def test_other_document_types_use_type_notation(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    from directives.test_document_rules import decision as structured_decision

    decision = await api.advance(await api.approved(structured_decision(letter)), "issue", actors.clerk)
    assert decision["notation"] == "01/QĐ-VPUB"
