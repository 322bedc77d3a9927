"""Workflow property test: random actions by random actors, checked against a model of the rules.

A hypothesis ``RuleBasedStateMachine`` drives documents through the real HTTP API (create, edit,
submit, review, return, approve, issue, read) as the drafter, a reviewer, the designated signer,
another signer, the clerk, and unit officers of an addressed and of another unit — with fresh,
stale or missing ETags. After every step:

- the answer is the one the model predicts (200/201 vs 403/404/409/412/422/428);
- a successful change adds exactly one history entry, a refused one none;
- once approved, the signed content (``signed_sha256``, subject and body) never changes;
- the year's register holds 1..n with no gap or duplicate, n = documents issued so far.

One database per test (per backend); each run creates its own documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from directive_testing import PEOPLE, Actors
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from security_testing import ADDRESSED_UNIT, LOG, OFFICE, OTHER_UNIT, SyncApi, letter_to

from common.testing import state_machine_settings

PRE_ISSUE = {"draft", "submitted", "reviewed", "returned", "approved"}
EDITABLE = {"draft", "returned"}
TRANSITIONS: dict[str, tuple[set[str], set[str], str]] = {
    # action: (roles that may fire it, source states, target)
    "submit": ({"drafter", "integration"}, {"draft", "returned"}, "submitted"),
    "review": ({"reviewer"}, {"submitted"}, "reviewed"),
    "return": ({"reviewer", "signer"}, {"submitted", "reviewed"}, "returned"),
    "approve": ({"signer"}, {"submitted", "reviewed"}, "approved"),
    "issue": ({"clerk"}, {"approved"}, "issued"),
}
DESIGNATED_SIGNER = "le-xuan-hoa"


@dataclass(frozen=True)
class Actor:
    name: str
    id: str
    roles: frozenset[str]
    unit: str
    headers: dict[str, str] = field(hash=False, compare=False)


@dataclass
class Doc:
    id: str
    status: str
    version: int
    history: int
    subject: str
    signed: tuple[str, str, Any] | None = None
    """(signed_sha256, subject, body) recorded at approval."""
    number: int | None = None


def _actors(actors: Actors) -> list[Actor]:
    staff = {
        "drafter": "tran-van-an",
        "reviewer": "pham-thi-binh",
        "signer": DESIGNATED_SIGNER,
        "other_signer": "nguyen-trong-son",
        "clerk": "vo-thi-thu",
    }
    out = [
        Actor(name, pid, frozenset(PEOPLE[pid]["roles"]), PEOPLE[pid]["unit_code"], actors.person(pid))
        for name, pid in staff.items()
    ]
    for name, unit in (("officer_addressed", ADDRESSED_UNIT), ("officer_other", OTHER_UNIT)):
        out.append(Actor(name, f"officer-{unit.lower()}", frozenset({"unit_officer"}), unit, actors.unit_officer(unit)))
    return out


def _visibility(doc: Doc, actor: Actor) -> int | None:
    """The refusal of a caller who may not see the document at all (None: visible)."""
    if actor.unit == OFFICE:
        return None
    if actor.unit == ADDRESSED_UNIT:
        return 403 if doc.status in PRE_ISSUE else None
    return 404


def expected_transition(doc: Doc, action: str, actor: Actor, etag: str, comment: bool) -> int:
    refused = _visibility(doc, actor)
    if refused is not None:
        return refused
    if actor.unit != OFFICE:
        return 403
    roles, sources, _target = TRANSITIONS[action]
    if not roles & actor.roles:
        return 403
    if action == "approve" and actor.id != DESIGNATED_SIGNER:
        return 403
    if doc.status not in sources:
        return 409
    if action == "return" and not comment:
        return 422
    if action == "return" and "reviewer" not in actor.roles and actor.id != DESIGNATED_SIGNER:
        return 403
    return {"missing": 428, "stale": 412}.get(etag, 200)


def expected_edit(doc: Doc, actor: Actor, etag: str) -> int:
    refused = _visibility(doc, actor)
    if refused is not None:
        return refused
    if not {"drafter", "integration"} & actor.roles or actor.unit != OFFICE:
        return 403
    if etag != "fresh":
        return {"missing": 428, "stale": 412}[etag]
    return 200 if doc.status in EDITABLE else 409


def expected_read(doc: Doc, actor: Actor) -> int:
    return _visibility(doc, actor) or 200


NEXT_STEP = {
    "draft": ("submit", "drafter"),
    "returned": ("submit", "drafter"),
    "submitted": ("approve", "signer"),
    "reviewed": ("approve", "signer"),
    "approved": ("issue", "clerk"),
}
ETAG_MODES = st.sampled_from(["fresh"] * 6 + ["stale", "missing"])


def _machine(api: SyncApi, people: list[Actor], totals: dict[str, int]) -> type[RuleBasedStateMachine]:
    by_name = {a.name: a for a in people}
    monitor = {"Authorization": by_name["drafter"].headers["Authorization"]}
    clerk = by_name["clerk"].headers
    actor_names = st.sampled_from(sorted(by_name))

    class Workflow(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.docs: list[Doc] = []

        # -- helpers -------------------------------------------------------------------------
        def _etag_header(self, doc: Doc, mode: str) -> dict[str, str]:
            if mode == "missing":
                return {}
            version = doc.version if mode == "fresh" else (doc.version - 1 if doc.version > 1 else doc.version + 7)
            return {"If-Match": f'"{version}"'}

        def _history(self, doc: Doc) -> list[dict[str, Any]]:
            response = api.request("GET", f"/v1/directives/{doc.id}/history", headers=monitor)
            assert response.status_code == 200, response.text
            entries: list[dict[str, Any]] = response.json()
            return entries

        def _settle(self, doc: Doc, response: httpx.Response, expected: int, action: str) -> None:
            assert response.status_code == expected, (action, doc.status, expected, response.text[:400])
            if expected >= 400:
                assert response.headers["content-type"].startswith("application/problem+json")
            else:
                data = response.json()
                assert data["version"] == doc.version + 1, (action, data["version"], doc.version)
                assert response.headers["ETag"] == f'"{data["version"]}"'
                doc.version = data["version"]
                doc.history += 1
                if action in TRANSITIONS:
                    assert data["status"] == TRANSITIONS[action][2], data["status"]
                doc.status = data["status"]
                doc.subject = data["subject"]
                if action == "approve":
                    assert data["signed_sha256"], data
                    doc.signed = (data["signed_sha256"], data["subject"], data["body"])
                if action == "issue":
                    totals["issued"] += 1
                    assert data["number"] == totals["issued"], (data["number"], totals["issued"])
                    doc.number = data["number"]
            entries = self._history(doc)
            assert len(entries) == doc.history, (action, expected, [e["action"] for e in entries])
            assert entries[-1]["version"] == doc.version
            totals["steps"] += 1

        def _pick(self, index: int) -> Doc:
            return self.docs[index % len(self.docs)]

        # -- rules ---------------------------------------------------------------------------
        @rule(actor=actor_names)
        def create(self, actor: str) -> None:
            who = by_name[actor]
            body = letter_to(ADDRESSED_UNIT)
            response = api.request("POST", "/v1/directives", json=body, headers=who.headers)
            expected = 201 if "drafter" in who.roles and who.unit == OFFICE else 403
            assert response.status_code == expected, (actor, response.text[:300])
            totals["steps"] += 1
            if expected == 201:
                data = response.json()
                assert data["status"] == "draft" and data["version"] == 1
                doc = Doc(data["id"], "draft", 1, 1, data["subject"])
                self.docs.append(doc)
                assert len(self._history(doc)) == 1

        @precondition(lambda self: bool(self.docs))
        @rule(
            index=st.integers(0, 50),
            action=st.sampled_from(sorted(TRANSITIONS)),
            actor=actor_names,
            etag=ETAG_MODES,
            comment=st.sampled_from([True, True, True, False]),
        )
        def transition(self, index: int, action: str, actor: str, etag: str, comment: bool) -> None:
            doc = self._pick(index)
            who = by_name[actor]
            expected = expected_transition(doc, action, who, etag, comment)
            response = api.request(
                "POST",
                f"/v1/directives/{doc.id}/{action}",
                json={"comment": "Đề nghị bổ sung số liệu."} if comment else None,
                headers={**who.headers, **self._etag_header(doc, etag)},
            )
            self._settle(doc, response, expected, action)

        @precondition(lambda self: bool(self.docs))
        @rule(index=st.integers(0, 50), etag=ETAG_MODES)
        def advance(self, index: int, etag: str) -> None:
            """The next step of the usual path, by the person whose turn it is (so runs reach issue)."""
            doc = self._pick(index)
            action, actor = NEXT_STEP.get(doc.status, ("issue", "clerk"))
            self.transition(index, action, actor, etag, comment=True)

        @precondition(lambda self: bool(self.docs))
        @rule(etag=ETAG_MODES)
        def advance_latest(self, etag: str) -> None:
            """The same for the newest document, so that some documents go the whole way."""
            self.advance(len(self.docs) - 1, etag)

        @precondition(lambda self: bool(self.docs))
        @rule(index=st.integers(0, 50), actor=actor_names, etag=ETAG_MODES, n=st.integers(1, 99))
        def edit(self, index: int, actor: str, etag: str, n: int) -> None:
            doc = self._pick(index)
            who = by_name[actor]
            expected = expected_edit(doc, who, etag)
            response = api.request(
                "PATCH",
                f"/v1/directives/{doc.id}",
                json={"subject": f"tăng cường theo dõi, lần sửa {n}"},
                headers={**who.headers, **self._etag_header(doc, etag)},
            )
            self._settle(doc, response, expected, "edit")

        @precondition(lambda self: bool(self.docs))
        @rule(index=st.integers(0, 50), actor=actor_names)
        def read(self, index: int, actor: str) -> None:
            doc = self._pick(index)
            who = by_name[actor]
            response = api.request("GET", f"/v1/directives/{doc.id}", headers=who.headers)
            assert response.status_code == expected_read(doc, who), (actor, doc.status, response.text[:300])
            if response.status_code == 200:
                data = response.json()
                assert (data["status"], data["version"]) == (doc.status, doc.version)
                assert response.headers["ETag"] == f'"{doc.version}"'
            totals["steps"] += 1

        # -- invariants ----------------------------------------------------------------------
        @invariant()
        def signed_content_never_changes(self) -> None:
            for doc in self.docs:
                if doc.signed is None:
                    continue
                data = api.request("GET", f"/v1/directives/{doc.id}", headers=monitor).json()
                assert (data["signed_sha256"], data["subject"], data["body"]) == doc.signed, doc.id
                assert data["status"] == doc.status

        @invariant()
        def register_has_no_gap_or_duplicate(self) -> None:
            if not totals["issued"]:
                return
            response = api.request("GET", "/v1/registers/VPUB/HC/2026", headers=clerk)
            assert response.status_code == 200, response.text
            register = response.json()
            numbers = [e["number"] for e in register["entries"]]
            assert numbers == list(range(1, totals["issued"] + 1)), numbers
            assert register["last_number"] == totals["issued"]

    return Workflow


@pytest.mark.slow
def test_workflow_follows_the_model(sync_api: SyncApi, actors: Actors) -> None:
    totals = {"issued": 0, "steps": 0}
    machine = _machine(sync_api, _actors(actors), totals)
    run_state_machine_as_test(
        machine,
        settings=state_machine_settings(),
    )
    LOG.info(f"state machine: {totals['steps']} steps, {totals['issued']} documents issued")
    assert totals["steps"] >= 100, totals
    assert totals["issued"] >= 1, totals
