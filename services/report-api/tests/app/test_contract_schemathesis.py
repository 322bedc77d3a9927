"""Contract tests of report-api: schemathesis generates requests for every operation of its OpenAPI.

Checks on every answer: no 5xx, a documented status code, the documented content type and headers, a
body that matches the response schema and, for errors, ``application/problem+json``. Cases run
in-process (httpx ASGI transport) with valid tokens of several actors (an addressed unit's officer,
the Office's monitor, an e-office integration). The data is real: obligations created by signed
``directive.dispatched`` events, one of the unit's obligations in each state, with an extension
request and an evidence file; half of the positive cases get a real id (and, half of those, the
current ETag) so the generated requests reach past the 404. Workflows are exercised by
test_obligation_statemachine.py.

Failures are collected rather than raised at the first one, so a run reports every broken operation.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from report_testing import PDF_BYTES, VALID_REPORT, Actors, Api, Clock
from schemathesis import Case as _Case
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from security_testing import LOG, SyncApi

from common.testing import scaled
from report_api.main import create_app
from report_api.settings import Settings

Case = _Case[Any]
MAX_EXAMPLES = 25
UNIT = "X31299"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
HTML_ROUTES = {"/dashboard/{directive_id}"}
"""A page for people in a browser: its errors are HTML pages by design, not problem+json."""


class ReportSyncApi(SyncApi):
    """SyncApi with a client address off the machine (loopback-only allowances must not apply)."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.runner.run(self.client.aclose())
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("192.0.2.10", 50000))
        self.client = httpx.AsyncClient(transport=transport, base_url="http://report-api.test")


@pytest.fixture
def sync_api(settings: Settings, clock: Clock) -> Iterator[ReportSyncApi]:
    driver = ReportSyncApi(create_app(settings, clock=clock))
    yield driver
    driver.close()


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

    def report(self) -> str:
        """One line per distinct (operation, status, check), with the first request that showed it."""
        seen: dict[tuple[str, int, str], str] = {}
        for f in self.findings:
            kinds = [line.strip() for line in f.problem.splitlines() if line.strip().startswith("- ")]
            key = (f.operation, f.status, "; ".join(kinds)[:300] or f.problem.splitlines()[0][:300])
            seen.setdefault(key, f.request[:300])
        return "\n".join(f"{op} -> {status}: {kind}\n    e.g. {req}" for (op, status, kind), req in seen.items())


@dataclass
class RealData:
    """Ids that exist: the unit's obligation in each state, and things attached to them."""

    directive_id: str
    obligations: dict[str, str]
    request_id: str
    evidence_id: str
    evidence_obligation: str


def _real_data(driver: ReportSyncApi, actors: Actors, secret: str, clock: Clock) -> RealData:
    api = Api(driver.client, actors, secret, clock, driver.app)
    run = driver.runner.run
    officer, monitor = actors.unit_officer(UNIT), actors.monitor
    obligations: dict[str, str] = {}
    directive_id = ""
    for state in ("assigned", "acknowledged", "submitted", "returned", "accepted"):
        directive = run(api.dispatch(notation=f"{len(obligations) + 1:02d}/VPUB-TTĐH"))
        directive_id = directive["id"]
        oid = run(api.obligation_of(UNIT, directive_id))["id"]
        if state != "assigned":
            run(api.acknowledge(oid, UNIT))
        if state in ("submitted", "returned", "accepted"):
            run(api.submit(oid, UNIT, VALID_REPORT))
        if state == "returned":
            run(api.review(oid, "return", "Bổ sung số liệu Zalo."))
        if state == "accepted":
            run(api.review(oid, "accept"))
        obligations[state] = oid
    open_one = obligations["acknowledged"]
    extension = driver.request(
        "POST",
        f"/v1/obligations/{open_one}/extension-requests",
        json={"requested_due_on": "2027-03-01", "reason": "Đang tổng hợp số liệu."},
        headers=officer,
    )
    assert extension.status_code == 201, extension.text
    upload = driver.request(
        "POST",
        f"/v1/obligations/{open_one}/evidence",
        files={"file": ("minh-chung.pdf", PDF_BYTES, "application/pdf")},
        headers=officer,
    )
    assert upload.status_code == 201, upload.text
    reminder = driver.request(
        "POST", f"/v1/obligations/{open_one}/reminders", json={"content": "Đề nghị báo cáo."}, headers=monitor
    )
    assert reminder.status_code == 201, reminder.text
    return RealData(directive_id, obligations, extension.json()["id"], upload.json()["id"], open_one)


def _headers(actors: Actors) -> dict[str, dict[str, str]]:
    return {"unit_officer": actors.unit_officer(UNIT), "monitor": actors.monitor, "integration": actors.integration}


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


def _send(driver: ReportSyncApi, case: Case, headers: dict[str, str]) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url="http://report-api.test", headers=headers)
    request: dict[str, Any] = {
        "params": kwargs.get("params") or None,
        "headers": {str(k): str(v) for k, v in (kwargs.get("headers") or {}).items()},
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif kwargs.get("files") is not None:
        # Encode the multipart body up front: schemathesis reads the request back when it checks.
        files = _as_bytes_files(kwargs["files"])
        encoded = httpx.Request("POST", "http://x", files=files, data=kwargs.get("data") or None)
        request["content"] = encoded.read()
        request["headers"] = {k: v for k, v in request["headers"].items() if k.lower() != "content-type"}
        request["headers"]["Content-Type"] = encoded.headers["Content-Type"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        request["content"] = data if isinstance(data, bytes) else str(data).encode()
    response: httpx.Response = driver.request(kwargs["method"], kwargs["url"], **request)
    return response


def _check(case: Case, response: httpx.Response, tally: Tally, label: str) -> None:
    tally.cases[label] = tally.cases.get(label, 0) + 1
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


def _with_real_ids(driver: ReportSyncApi, data: RealData, monitor: dict[str, str]) -> Callable[[Any], Case]:
    def apply(drawn: tuple[Case, str | None, bool]) -> Case:
        case, state, fresh_etag = drawn
        params = case.path_parameters
        if state is None or not params:
            return case
        if "obligation_id" in params:
            oid = data.obligations[state]
            if "evidence_id" in params:
                oid = data.evidence_obligation
                params["evidence_id"] = data.evidence_id
            if "request_id" in params:
                oid = data.obligations["acknowledged"]
                params["request_id"] = data.request_id
            params["obligation_id"] = oid
            if fresh_etag:
                current = driver.request("GET", f"/v1/obligations/{oid}", headers=monitor)
                case.headers["If-Match"] = current.headers["ETag"]
        if "directive_id" in params:
            params["directive_id"] = data.directive_id
        return case

    return apply


@pytest.mark.slow
def test_every_operation_honours_its_contract(
    sync_api: ReportSyncApi, actors: Actors, webhook_secret: str, clock: Clock
) -> None:
    spec = sync_api.app.openapi()
    schema = schemathesis.openapi.from_dict(copy.deepcopy(spec))
    headers = _headers(actors)
    data = _real_data(sync_api, actors, webhook_secret, clock)
    tally = Tally()
    no_negative: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 14, [op.label for op in operations]
    apply = _with_real_ids(sync_api, data, actors.monitor)
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.label} [{mode.value}]"
            cases = st.tuples(
                operation.as_strategy(generation_mode=mode),
                st.sampled_from([None, *data.obligations]) if mode is GenerationMode.POSITIVE else st.none(),
                st.booleans(),
            ).map(apply)

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
                    response = _send(sync_api, case, headers[actor])
                except httpx.InvalidURL:
                    # A URL over 64 KiB (a generated list of query values) that no HTTP client sends.
                    reject()
                _check(case, response, tally, label)  # noqa: B023 (run is called at once)

            try:
                run()
            except Unsatisfiable:
                # Nothing to negate: the operation takes no parameters and no body.
                assert mode is GenerationMode.NEGATIVE, label
                no_negative.append(operation.label)
    total = sum(tally.cases.values())
    LOG.info(f"schemathesis report-api: {len(operations)} operations, {total} cases, {len(tally.findings)} findings")
    print(f"schemathesis report-api: {len(operations)} operations, {total} cases, {len(tally.findings)} findings")  # noqa: T201
    assert len(tally.cases) == 2 * len(operations) - len(no_negative), no_negative
    assert not tally.findings, tally.report()
