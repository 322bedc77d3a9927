"""Contract tests of a service's OpenAPI description with schemathesis (test-only helper).

Each service's ``test_contract_schemathesis.py`` prepares real data, the actors' headers and how a
drawn case gets a real id; :func:`exercise_operations` then generates positive and negative
requests for every operation and checks every answer: no 5xx, a documented status code, the
documented content type and headers, a body that matches the response schema and, for errors,
``application/problem+json``. Findings are collected rather than raised at the first one, so a run
reports every broken operation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, reject, settings
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

from common.testing import scaled

__all__ = ["CHECKS", "MAX_EXAMPLES", "Case", "ContractRun", "Finding", "Tally", "exercise_operations", "send_case"]

Case = _Case[Any]
MAX_EXAMPLES = 25
"""Examples per operation and generation mode (times ``FUZZ_SCALE``)."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

Send = Callable[..., httpx.Response]
"""``send(method, url, **httpx_request_kwargs)``: the service behind an in-process client."""
RealIds = Callable[[tuple[Case, str | None, bool]], Case]
"""Puts a real id (of the drawn state, when one is drawn) and, if drawn, the current ETag into a case."""


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
            kinds = [line.strip() for line in f.problem.splitlines() if line.strip().startswith("- ")]
            key = (f.operation, f.status, "; ".join(kinds)[:300] or f.problem.splitlines()[0][:300])
            seen.setdefault(key, f.request[:300])
        return "\n".join(f"{op} -> {status}: {kind}\n    e.g. {req}" for (op, status, kind), req in seen.items())


@dataclass
class ContractRun:
    operations: list[Any]
    tally: Tally
    no_negative: list[str]
    """Operations with nothing to negate (no parameters and no body)."""

    @property
    def total(self) -> int:
        return sum(self.tally.cases.values())


def _bytes(value: Any) -> Any:
    if isinstance(value, bytes | str):
        return value
    if isinstance(value, tuple):
        return tuple(_bytes(v) if i == 1 else v for i, v in enumerate(value))
    return json.dumps(value).encode()


def _as_bytes_files(files: Any) -> list[tuple[str, Any]]:
    """Multipart parts with contents httpx can encode (negative cases put numbers or objects there)."""
    items = files.items() if isinstance(files, dict) else files
    return [(str(name), _bytes(value)) for name, value in items]


def send_case(send: Send, case: Case, headers: Mapping[str, str], base_url: str) -> httpx.Response:
    """Send a generated case (JSON, multipart or raw body) through ``send``."""
    kwargs = case.as_transport_kwargs(base_url=base_url, headers=dict(headers))
    request: dict[str, Any] = {
        "params": kwargs.get("params") or None,
        "headers": {str(k): str(v) for k, v in (kwargs.get("headers") or {}).items()},
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif kwargs.get("files") is not None:
        # Encode the multipart body up front: schemathesis reads the request back when it checks.
        encoded = httpx.Request(
            "POST", "http://x", files=_as_bytes_files(kwargs["files"]), data=kwargs.get("data") or None
        )
        request["content"] = encoded.read()
        request["headers"] = {k: v for k, v in request["headers"].items() if k.lower() != "content-type"}
        request["headers"]["Content-Type"] = encoded.headers["Content-Type"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        request["content"] = data if isinstance(data, bytes) else str(data).encode()
    return send(kwargs["method"], kwargs["url"], **request)


def _check(case: Case, response: httpx.Response, tally: Tally, label: str, html_routes: set[str]) -> None:
    tally.cases[label] = tally.cases.get(label, 0) + 1
    tally.statuses.setdefault(label, set()).add(response.status_code)
    problems: list[str] = []
    try:
        case.validate_response(response, checks=CHECKS)
    except (AssertionError, BaseExceptionGroup) as exc:  # one failure, or a group of them
        problems.append(f"{type(exc).__name__}: {exc}")
    if response.status_code >= 400 and case.operation.path not in html_routes:
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


def exercise_operations(
    schema: Any,
    *,
    send: Send,
    base_url: str,
    headers: Mapping[str, Mapping[str, str]],
    states: Sequence[str],
    real_ids: RealIds,
    html_routes: set[str],
) -> ContractRun:
    """Generate and check positive and negative cases of every operation of ``schema``.

    Args:
        schema: ``schemathesis.openapi.from_dict(app.openapi())``.
        send: The in-process client of the service.
        base_url: The client's base URL.
        headers: Each actor's headers; every case is sent as one of them.
        states: The states ``real_ids`` knows a real resource of (a positive case draws one, or none).
        real_ids: See :data:`RealIds`.
        html_routes: Routes that answer HTML pages by design (their errors are not problem+json).
    """
    tally = Tally()
    no_negative: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.label} [{mode.value}]"
            cases = st.tuples(
                operation.as_strategy(generation_mode=mode),
                st.sampled_from([None, *states]) if mode is GenerationMode.POSITIVE else st.none(),
                st.booleans(),
            ).map(real_ids)

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
                try:
                    response = send_case(send, case, headers[actor], base_url)
                except httpx.InvalidURL:
                    # A URL over 64 KiB (a generated list of query values) that no HTTP client sends.
                    reject()
                _check(case, response, tally, label, html_routes)  # noqa: B023 (run is called at once)

            try:
                run()
            except Unsatisfiable:
                # Nothing to negate: the operation takes no parameters and no body.
                assert mode is GenerationMode.NEGATIVE, label
                no_negative.append(operation.label)
    return ContractRun(operations, tally, no_negative)
