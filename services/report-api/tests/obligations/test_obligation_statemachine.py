"""Obligation workflow property test: random actions by random actors, checked against a model.

A hypothesis ``RuleBasedStateMachine`` drives obligations, created by signed ``directive.dispatched``
events, through report-api's HTTP API: acknowledge, submit a valid or an invalid report, review
(accept / return with or without a comment), resubmit, extension requests and decisions, reminders
and reads — as the addressed unit's officer, another unit's officer, the Office's monitor and an
e-office integration client, with no, a fresh or a stale ``If-Match``. After every step:

- the answer is the one the model predicts (200/201 vs 403/404/409/412/422);
- a successful change of state or deadline adds exactly one history entry, anything else none;
- report versions are 1..n, consecutive;
- an accepted obligation never changes again;
- the other unit's officer never sees the unit's obligations (404, absent from its inbox).

One database per test (per backend); each run dispatches its own documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from report_testing import VALID_REPORT, Actors, Api, Clock, small_addressees
from security_testing import LOG, SyncApi

from common.testing import state_machine_settings
from report_api.main import create_app
from report_api.settings import Settings

UNIT = "X31299"
OTHER_UNIT = "P31120"
"""Addressed by the same documents: it has obligations of its own, never the unit's."""
AWAITING_UNIT = {"assigned", "acknowledged", "returned"}
ACTORS = ("officer", "other_officer", "monitor", "integration")
ETAG_MODES = st.sampled_from(["none", "none", "fresh", "fresh", "stale"])
INVALID_REPORTS: list[dict[str, Any]] = [
    {},
    {**VALID_REPORT, "facebook_followers": -1},
    {**VALID_REPORT, "unknown_field": 1},
    {**VALID_REPORT, "website_links_portal": "có"},
]


@dataclass
class Ob:
    id: str
    status: str
    version: int
    history: int
    due_on: date
    submissions: int = 0
    pending_request: str | None = None
    reminders: dict[str, int] = field(default_factory=lambda: {"nhac_nho": 0, "phe_binh": 0, "kiem_diem": 0})
    frozen: dict[str, Any] | None = None
    """The obligation as read when it was accepted."""


def _scope(ob: Ob, actor: str) -> int | None:
    """The refusal of a caller who may not reach the obligation at all (None: reachable)."""
    return {"other_officer": 404, "integration": 403}.get(actor)


def _etag_refusal(mode: str) -> int | None:
    return 412 if mode == "stale" else None


def expected_acknowledge(ob: Ob, actor: str, etag: str) -> int:
    refused = _scope(ob, actor) or _etag_refusal(etag)
    if refused:
        return refused
    if actor != "officer":
        return 403
    return 200 if ob.status == "assigned" else 409


def expected_submit(ob: Ob, actor: str, etag: str, valid: bool) -> int:
    refused = _scope(ob, actor) or _etag_refusal(etag)
    if refused:
        return refused
    if actor != "officer":
        return 403
    if ob.status not in {"acknowledged", "returned"}:
        return 409
    return 201 if valid else 422


def expected_review(ob: Ob, actor: str, etag: str, decision: str, comment: bool) -> int:
    if actor != "monitor":
        return 403
    refused = _etag_refusal(etag)
    if refused:
        return refused
    if ob.status != "submitted":
        return 409
    return 422 if decision == "return" and not comment else 200


def expected_extension_request(ob: Ob, actor: str, later: bool) -> int:
    refused = _scope(ob, actor)
    if refused:
        return refused
    if actor != "officer":
        return 403
    if ob.status not in AWAITING_UNIT:
        return 409
    if not later:
        return 422
    return 409 if ob.pending_request else 201


def expected_decision(ob: Ob, actor: str, decision: str) -> int:
    if actor != "monitor":
        return 403
    if ob.pending_request is None:
        return 409  # the request in hand was already decided
    if decision == "approve" and ob.status not in AWAITING_UNIT:
        return 409
    return 200


def expected_reminder(ob: Ob, actor: str) -> int:
    if actor != "monitor":
        return 403
    return 201 if ob.status in AWAITING_UNIT else 409


def expected_read(ob: Ob, actor: str) -> int:
    return _scope(ob, actor) or 200


def _machine(api: SyncApi, actors: Actors, helper: Api, totals: dict[str, int]) -> type[RuleBasedStateMachine]:
    headers = {
        "officer": actors.unit_officer(UNIT),
        "other_officer": actors.unit_officer(OTHER_UNIT),
        "monitor": actors.monitor,
        "integration": actors.integration,
    }
    actor_names = st.sampled_from(ACTORS)

    class Obligations(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.obs: list[Ob] = []
            self.decided: list[tuple[Ob, str]] = []
            """Extension requests already decided (a second decision must be refused)."""

        # -- helpers -------------------------------------------------------------------------
        def _read(self, ob: Ob) -> dict[str, Any]:
            response = api.request("GET", f"/v1/obligations/{ob.id}", headers=headers["monitor"])
            assert response.status_code == 200, response.text
            data: dict[str, Any] = response.json()
            return data

        def _etag(self, ob: Ob, mode: str) -> dict[str, str]:
            if mode == "none":
                return {}
            version = ob.version if mode == "fresh" else (ob.version - 1 if ob.version > 1 else ob.version + 7)
            return {"If-Match": f'"{version}"'}

        def _pick(self, index: int) -> Ob:
            return self.obs[index % len(self.obs)]

        def _settle(self, ob: Ob, response: httpx.Response, expected: int, what: str, *, changes: bool) -> None:
            """Compare with the model; a success that ``changes`` the obligation adds one history entry."""
            assert response.status_code == expected, (what, ob.status, expected, response.text[:400])
            if expected >= 400:
                assert response.headers["content-type"].startswith("application/problem+json"), what
            elif changes:
                ob.version += 1
                ob.history += 1
            data = self._read(ob)
            assert data["version"] == ob.version, (what, data["version"], ob.version)
            assert data["status"] == ob.status, (what, data["status"], ob.status)
            assert len(data["history"]) == ob.history, (what, expected, [h["action"] for h in data["history"]])
            assert data["history"][-1]["version"] == ob.version, what
            assert [s["version"] for s in data["submissions"]] == list(range(1, ob.submissions + 1)), what
            assert data["submission_count"] == ob.submissions
            assert data["due_on"] == ob.due_on.isoformat(), what
            assert data["reminder_counts"] == ob.reminders, (what, data["reminder_counts"])
            if ob.frozen is not None:
                assert data == ob.frozen, f"accepted obligation changed after {what}"
            totals["steps"] += 1
            if expected < 400:
                totals["changes"] += 1

        # -- rules ---------------------------------------------------------------------------
        @precondition(lambda self: len(self.obs) < 4)
        @rule()
        def dispatch(self) -> None:
            """directive-api sends a signed directive.dispatched: one obligation per addressee."""
            directive = api.runner.run(helper.dispatch(small_addressees(), notation=f"{totals['docs'] + 1:02d}/VPUB"))
            totals["docs"] += 1
            mine = api.runner.run(helper.obligation_of(UNIT, directive["id"]))
            assert mine["status"] == "assigned" and mine["version"] == 1
            ob = Ob(mine["id"], "assigned", 1, 0, date.fromisoformat(mine["due_on"]))
            ob.history = len(self._read(ob)["history"])
            assert ob.history == 1
            self.obs.append(ob)

        @precondition(lambda self: bool(self.obs))
        @rule(index=st.integers(0, 20), actor=actor_names, etag=ETAG_MODES)
        def acknowledge(self, index: int, actor: str, etag: str) -> None:
            ob = self._pick(index)
            expected = expected_acknowledge(ob, actor, etag)
            response = api.request(
                "POST", f"/v1/obligations/{ob.id}/acknowledge", headers={**headers[actor], **self._etag(ob, etag)}
            )
            if expected == 200:
                ob.status = "acknowledged"
            self._settle(ob, response, expected, f"acknowledge by {actor}", changes=True)

        @precondition(lambda self: bool(self.obs))
        @rule(
            index=st.integers(0, 20),
            actor=st.sampled_from(["officer", "officer", *ACTORS]),
            etag=ETAG_MODES,
            report=st.one_of(st.just(-1), st.integers(0, len(INVALID_REPORTS) - 1)),
        )
        def submit(self, index: int, actor: str, etag: str, report: int) -> None:
            ob = self._pick(index)
            valid = report < 0
            expected = expected_submit(ob, actor, etag, valid)
            response = api.request(
                "POST",
                f"/v1/obligations/{ob.id}/submissions",
                json={"data": VALID_REPORT if valid else INVALID_REPORTS[report]},
                headers={**headers[actor], **self._etag(ob, etag)},
            )
            if expected == 201:
                ob.status = "submitted"
                ob.submissions += 1
                assert response.json()["version"] == ob.submissions
            self._settle(ob, response, expected, f"submit by {actor}", changes=True)

        @precondition(lambda self: bool(self.obs))
        @rule(
            index=st.integers(0, 20),
            actor=st.sampled_from(["monitor", "monitor", *ACTORS]),
            etag=ETAG_MODES,
            decision=st.sampled_from(["accept", "return", "return"]),
            comment=st.sampled_from([True, True, False]),
        )
        def review(self, index: int, actor: str, etag: str, decision: str, comment: bool) -> None:
            ob = self._pick(index)
            expected = expected_review(ob, actor, etag, decision, comment)
            response = api.request(
                "POST",
                f"/v1/obligations/{ob.id}/review",
                json={"decision": decision, "comment": "Đề nghị bổ sung số liệu Zalo." if comment else None},
                headers={**headers[actor], **self._etag(ob, etag)},
            )
            if expected == 200:
                ob.status = "accepted" if decision == "accept" else "returned"
            self._settle(ob, response, expected, f"review {decision} by {actor}", changes=True)
            if expected == 200 and decision == "accept":
                ob.frozen = self._read(ob)
                totals["accepted"] += 1

        @precondition(lambda self: bool(self.obs))
        @rule(index=st.integers(0, 20), etag=ETAG_MODES, accept=st.booleans())
        def advance(self, index: int, etag: str, accept: bool) -> None:
            """The next step of the usual path, by whoever's turn it is (so that runs reach accepted)."""
            ob = self._pick(index)
            if ob.status == "assigned":
                self.acknowledge(index, "officer", etag)
            elif ob.status in {"acknowledged", "returned"}:
                self.submit(index, "officer", etag, -1)
            else:
                self.review(index, "monitor", etag, "accept" if accept else "return", comment=True)

        @precondition(lambda self: bool(self.obs))
        @rule(etag=ETAG_MODES, accept=st.booleans())
        def advance_latest(self, etag: str, accept: bool) -> None:
            """The same for the newest obligation, so that some go the whole way."""
            self.advance(len(self.obs) - 1, etag, accept)

        @precondition(lambda self: bool(self.obs))
        @rule(
            index=st.integers(0, 20),
            actor=st.sampled_from(["officer", *ACTORS]),
            days=st.sampled_from([-2, 0, 7, 20, 45]),
        )
        def request_extension(self, index: int, actor: str, days: int) -> None:
            ob = self._pick(index)
            expected = expected_extension_request(ob, actor, later=days > 0)
            response = api.request(
                "POST",
                f"/v1/obligations/{ob.id}/extension-requests",
                json={"requested_due_on": (ob.due_on + timedelta(days=days)).isoformat(), "reason": "Đang tổng hợp."},
                headers=headers[actor],
            )
            if expected == 201:
                assert response.json()["status"] == "pending"
                ob.pending_request = response.json()["id"]
            self._settle(ob, response, expected, f"extension request by {actor}", changes=False)

        @precondition(lambda self: any(ob.pending_request for ob in self.obs) or bool(self.decided))
        @rule(
            index=st.integers(0, 20),
            actor=st.sampled_from(["monitor", "monitor", *ACTORS]),
            decision=st.sampled_from(["approve", "approve", "deny"]),
            again=st.booleans(),
        )
        def decide_extension(self, index: int, actor: str, decision: str, again: bool) -> None:
            pending = [ob for ob in self.obs if ob.pending_request]
            if (again and self.decided) or not pending:
                ob, request_id = self.decided[index % len(self.decided)]
                expected = 403 if actor != "monitor" else 409
            else:
                ob = pending[index % len(pending)]
                assert ob.pending_request is not None
                request_id = ob.pending_request
                expected = expected_decision(ob, actor, decision)
            response = api.request(
                "POST",
                f"/v1/obligations/{ob.id}/extension-requests/{request_id}/decision",
                json={"decision": decision, "comment": "Đồng ý." if decision == "approve" else "Không đủ lý do."},
                headers=headers[actor],
            )
            changes = False
            if expected == 200:
                data = response.json()
                ob.pending_request = None
                self.decided.append((ob, request_id))
                if decision == "approve":
                    assert data["status"] == "approved"
                    new_due = date.fromisoformat(data["approved_due_on"])
                    assert new_due > ob.due_on
                    ob.due_on = new_due
                    changes = True
                else:
                    assert data["status"] == "denied"
            self._settle(ob, response, expected, f"extension {decision} by {actor}", changes=changes)

        @precondition(lambda self: bool(self.obs))
        @rule(
            index=st.integers(0, 20),
            actor=st.sampled_from(["monitor", *ACTORS]),
            kind=st.sampled_from(["nhac_nho", "phe_binh", "kiem_diem"]),
        )
        def remind(self, index: int, actor: str, kind: str) -> None:
            ob = self._pick(index)
            expected = expected_reminder(ob, actor)
            response = api.request(
                "POST",
                f"/v1/obligations/{ob.id}/reminders",
                json={"kind": kind, "content": "Đề nghị khẩn trương báo cáo."},
                headers=headers[actor],
            )
            if expected == 201:
                ob.reminders[kind] += 1
                assert response.json()["sequence"] == ob.reminders[kind]
            self._settle(ob, response, expected, f"reminder by {actor}", changes=False)

        @precondition(lambda self: bool(self.obs))
        @rule(index=st.integers(0, 20), actor=actor_names)
        def read(self, index: int, actor: str) -> None:
            ob = self._pick(index)
            response = api.request("GET", f"/v1/obligations/{ob.id}", headers=headers[actor])
            expected = expected_read(ob, actor)
            assert response.status_code == expected, (actor, response.text[:300])
            if expected == 200:
                data = response.json()
                assert (data["status"], data["version"]) == (ob.status, ob.version)
                assert response.headers["ETag"] == f'"{ob.version}"'
            totals["steps"] += 1

        # -- invariants ----------------------------------------------------------------------
        @invariant()
        def other_unit_sees_nothing_of_ours(self) -> None:
            if not self.obs:
                return
            response = api.request("GET", "/v1/me/obligations", params={"limit": 200}, headers=headers["other_officer"])
            assert response.status_code == 200, response.text
            theirs = {item["id"] for item in response.json()["items"]}
            assert theirs, "the other unit has obligations of its own"
            assert theirs.isdisjoint(ob.id for ob in self.obs)
            assert all(item["unit_code"] == OTHER_UNIT for item in response.json()["items"])

        @invariant()
        def the_unit_sees_its_obligations_as_modelled(self) -> None:
            if not self.obs:
                return
            response = api.request("GET", "/v1/me/obligations", params={"limit": 200}, headers=headers["officer"])
            assert response.status_code == 200, response.text
            seen = {item["id"]: (item["status"], item["version"]) for item in response.json()["items"]}
            for ob in self.obs:
                assert seen[ob.id] == (ob.status, ob.version), ob.id

    return Obligations


@pytest.fixture
def sync_api(settings: Settings, clock: Clock) -> Iterator[SyncApi]:
    driver = SyncApi(create_app(settings, clock=clock))
    yield driver
    driver.close()


@pytest.mark.slow
def test_obligations_follow_the_model(sync_api: SyncApi, actors: Actors, webhook_secret: str, clock: Clock) -> None:
    totals = {"docs": 0, "steps": 0, "changes": 0, "accepted": 0}
    helper = Api(sync_api.client, actors, webhook_secret, clock, sync_api.app)
    run_state_machine_as_test(
        _machine(sync_api, actors, helper, totals),
        settings=state_machine_settings(),
    )
    summary = f"obligation state machine: {totals}"
    LOG.info(summary)
    print(summary)  # noqa: T201
    assert totals["steps"] >= 150, totals
    assert totals["changes"] >= 30, totals
    assert totals["accepted"] >= 1, totals
