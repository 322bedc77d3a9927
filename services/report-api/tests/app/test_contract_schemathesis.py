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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from report_testing import PDF_BYTES, VALID_REPORT, Actors, Api, Clock
from security_testing import LOG, SyncApi

from common.contract_testing import Case, RealIds, exercise_operations
from report_api.main import create_app
from report_api.settings import Settings

UNIT = "X31299"

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


def _with_real_ids(driver: ReportSyncApi, data: RealData, monitor: dict[str, str]) -> RealIds:
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
    schema = schemathesis.openapi.from_dict(copy.deepcopy(sync_api.app.openapi()))
    data = _real_data(sync_api, actors, webhook_secret, clock)
    run = exercise_operations(
        schema,
        send=sync_api.request,
        base_url="http://report-api.test",
        headers=_headers(actors),
        states=list(data.obligations),
        real_ids=_with_real_ids(sync_api, data, actors.monitor),
        html_routes=HTML_ROUTES,
    )
    summary = f"schemathesis report-api: {len(run.operations)} operations, {run.total} cases"
    LOG.info(f"{summary}, {len(run.tally.findings)} findings")
    print(f"{summary}, {len(run.tally.findings)} findings")  # noqa: T201
    assert len(run.operations) >= 14, [op.label for op in run.operations]
    assert len(run.tally.cases) == 2 * len(run.operations) - len(run.no_negative), run.no_negative
    assert not run.tally.findings, run.tally.report()
