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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from directive_testing import Actors
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case as _Case
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from security_testing import LOG, SyncApi, letter_to

from common.testing import TokenFactory, scaled

Case = _Case[Any]
MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
PDF_BODIES = st.one_of(
    st.binary(max_size=2_000),
    st.binary(max_size=2_000).map(lambda b: b"%PDF-1.7\n" + b),
)
schemathesis.openapi.media_type("application/pdf", PDF_BODIES)

HTML_ROUTES = {"/verify/{public_id}", "/verify"}
"""Answer HTML for people (the QR code page with its 404, the file-verification page with its 429);
not problem+json by design."""


@dataclass
class Finding:
    operation: str
    request: str
    status: int
    problem: str


@dataclass
class Tally:
    cases: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    statuses: dict[str, set[int]] = field(default_factory=dict)

    def report(self) -> str:
        """One line per distinct (operation, status, check), with the first request that showed it."""
        seen: dict[tuple[str, int, str], str] = {}
        for f in self.findings:
            kinds = [line.strip() for line in f.problem.splitlines() if line.strip().startswith("- ST")]
            key = (f.operation, f.status, "; ".join(kinds) or f.problem.splitlines()[0][:200])
            seen.setdefault(key, f.request[:300])
        return "\n".join(f"{op} -> {status}: {kind}\n    e.g. {req}" for (op, status, kind), req in seen.items())


def _headers(actors: Actors, tokens: TokenFactory) -> dict[str, dict[str, str]]:
    return {
        "drafter": actors.drafter,
        "reviewer": actors.reviewer,
        "signer": actors.signer,
        "clerk": actors.clerk,
        "unit_officer": actors.unit_officer("X31299"),
        "all_office_roles": tokens.headers("le-xuan-hoa", ["drafter", "reviewer", "signer", "clerk"], "VPUB"),
    }


def _send(api: SyncApi, case: Case, headers: dict[str, str]) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url="http://directive-api.test", headers=headers)
    request: dict[str, Any] = {
        "params": kwargs.get("params") or None,
        "headers": {str(k): str(v) for k, v in (kwargs.get("headers") or {}).items()},
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        request["content"] = data if isinstance(data, bytes) else str(data).encode()
    return api.request(kwargs["method"], kwargs["url"], **request)


def _check(case: Case, response: httpx.Response, tally: Tally, label: str) -> None:
    tally.cases[label] = tally.cases.get(label, 0) + 1
    tally.statuses.setdefault(label, set()).add(response.status_code)
    problems: list[str] = []
    try:
        case.validate_response(response, checks=CHECKS)
    except (AssertionError, BaseExceptionGroup) as exc:  # one failure, or a group of them
        problems.append(f"{type(exc).__name__}: {exc}")
    if response.status_code >= 400 and case.operation.path not in HTML_ROUTES:
        content_type = response.headers.get("content-type", "")
        if not content_type.startswith("application/problem+json"):
            problems.append(f"error without problem+json: {content_type}")
        else:
            body = response.json()
            if body.get("status") != response.status_code or not body.get("type") or not body.get("title"):
                problems.append(f"malformed problem: {body}")
    for problem in problems:
        request = response.request
        content = request.content[:300] if request.content else b""
        tally.findings.append(
            Finding(label, f"{request.method} {request.url} {content!r}", response.status_code, problem)
        )


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


def _with_real_document(api: SyncApi, docs: dict[str, str]) -> Callable[[tuple[Case, str | None, bool]], Case]:
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
    spec = sync_api.app.openapi()
    schema = schemathesis.openapi.from_dict(copy.deepcopy(spec))
    headers = _headers(actors, token_factory)
    _OFFICE_READER.clear()
    _OFFICE_READER.update(actors.monitor)
    docs = _documents(sync_api, actors)
    tally = Tally()
    no_negative: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 20, [op.label for op in operations]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.label} [{mode.value}]"
            cases = st.tuples(
                operation.as_strategy(generation_mode=mode),
                st.sampled_from([None, *docs]) if mode is GenerationMode.POSITIVE else st.none(),
                st.booleans(),
            ).map(_with_real_document(sync_api, docs))

            @given(case=cases, actor=st.sampled_from(sorted(headers)))
            @settings(
                max_examples=scaled(MAX_EXAMPLES),
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Case, actor: str) -> None:
                response = _send(sync_api, case, headers[actor])
                _check(case, response, tally, label)  # noqa: B023 (run is called at once)

            try:
                run()
            except Unsatisfiable:
                # Nothing to negate: the operation takes no parameters and no body.
                assert mode is GenerationMode.NEGATIVE, label
                no_negative.append(operation.label)
    total = sum(tally.cases.values())
    LOG.info(f"schemathesis: {len(operations)} operations, {total} cases, {len(tally.findings)} findings")
    assert len(tally.cases) == 2 * len(operations) - len(no_negative), no_negative
    assert len(no_negative) <= 7, no_negative  # GET /verify (the public page) takes no parameters
    assert not tally.findings, tally.report()
