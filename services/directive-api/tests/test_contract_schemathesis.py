"""Contract tests: schemathesis generates requests for every operation of the OpenAPI description.

Checks on every answer: no 5xx, a documented status code, the documented content type, a body
that matches the response schema and, for errors, ``application/problem+json``. Cases run in-process
(httpx ASGI transport) with valid tokens of several actors; operations with a document id get,
half of the time, a real document (in each state) and its current ETag so the generated requests
reach past the 404. (Multi-step workflows are exercised by test_workflow_statemachine.py.)

Failures are collected rather than raised at the first one, so a run reports every broken operation.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import schemathesis
from directive_testing import Actors
from hypothesis import strategies as st
from security_testing import LOG, SyncApi, letter_to

from common.contract_testing import Case, RealIds, exercise_operations
from common.testing import TokenFactory

PDF_BODIES = st.one_of(
    st.binary(max_size=2_000),
    st.binary(max_size=2_000).map(lambda b: b"%PDF-1.7\n" + b),
)
schemathesis.openapi.media_type("application/pdf", PDF_BODIES)

HTML_ROUTES = {"/verify/{public_id}", "/verify"}
"""Answer HTML for people (the QR code page with its 404, the file-verification page with its 429);
not problem+json by design."""


def _headers(actors: Actors, tokens: TokenFactory) -> dict[str, dict[str, str]]:
    return {
        "drafter": actors.drafter,
        "reviewer": actors.reviewer,
        "signer": actors.signer,
        "clerk": actors.clerk,
        "unit_officer": actors.unit_officer("X31299"),
        "all_office_roles": tokens.headers("le-xuan-hoa", ["drafter", "reviewer", "signer", "clerk"], "VPUB"),
    }


def _documents(api: SyncApi, actors: Actors) -> dict[str, str]:
    """One document in each reachable state; returns id by state."""
    docs: dict[str, str] = {}

    def step(doc: dict[str, Any], action: str, headers: dict[str, str], body: Any = None) -> dict[str, Any]:
        response = api.request(
            "POST", f"/v1/directives/{doc['id']}/{action}", json=body, headers={**headers, "If-Match": doc["etag"]}
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    for state in ("draft", "submitted", "returned", "approved", "issued"):
        response = api.request("POST", "/v1/directives", json=letter_to(), headers=actors.drafter)
        assert response.status_code == 201, response.text
        doc = response.json()
        if state != "draft":
            doc = step(doc, "submit", actors.drafter)
        if state == "returned":
            doc = step(doc, "return", actors.reviewer, {"comment": "Bổ sung"})
        if state in ("approved", "issued"):
            doc = step(doc, "approve", actors.signer)
        if state == "issued":
            doc = step(doc, "issue", actors.clerk)
        assert doc["status"] == state
        docs[state] = doc["id"]
    return docs


def _with_real_document(api: SyncApi, docs: dict[str, str]) -> RealIds:
    def apply(drawn: tuple[Case, str | None, bool]) -> Case:
        case, state, fresh_etag = drawn
        if state is not None and case.path_parameters and "directive_id" in case.path_parameters:
            case.path_parameters["directive_id"] = docs[state]
            if fresh_etag:
                current = api.request("GET", f"/v1/directives/{docs[state]}", headers=_OFFICE_READER)
                case.headers["If-Match"] = current.headers["ETag"]
        return case

    return apply


_OFFICE_READER: dict[str, str] = {}


@pytest.mark.slow
def test_every_operation_honours_its_contract(sync_api: SyncApi, actors: Actors, token_factory: TokenFactory) -> None:
    schema = schemathesis.openapi.from_dict(copy.deepcopy(sync_api.app.openapi()))
    _OFFICE_READER.clear()
    _OFFICE_READER.update(actors.monitor)
    docs = _documents(sync_api, actors)
    run = exercise_operations(
        schema,
        send=sync_api.request,
        base_url="http://directive-api.test",
        headers=_headers(actors, token_factory),
        states=list(docs),
        real_ids=_with_real_document(sync_api, docs),
        html_routes=HTML_ROUTES,
    )
    LOG.info(f"schemathesis: {len(run.operations)} operations, {run.total} cases, {len(run.tally.findings)} findings")
    assert len(run.operations) >= 20, [op.label for op in run.operations]
    assert len(run.tally.cases) == 2 * len(run.operations) - len(run.no_negative), run.no_negative
    assert len(run.no_negative) <= 7, run.no_negative  # GET /verify (the public page) takes no parameters
    assert not run.tally.findings, run.tally.report()
