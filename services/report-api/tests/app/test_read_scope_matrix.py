"""Who reads what, role × unit × endpoint, over the app's HTTP: the one visibility rule of report-api.

The Office (monitor, admin of VPUB) reads every unit's obligations; a unit officer reads its unit's
only (another unit's answer 404, not disclosed); the Office functions (summaries, exports, the
dashboard) answer 403 to everyone else; the event feed shows a unit's integration its unit's events
and the Office's readers all of them. test_security_matrix.py covers every route for one attacker;
this covers the reads for every kind of caller.
"""

from __future__ import annotations

from typing import Any

import pytest
from report_testing import PDF_BYTES, Api

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

CALLERS = (
    "officer_snv",
    "officer_ward",
    "officer_office",
    "integration_ward",
    "integration_office",
    "integration_no_unit",
    "monitor_office",
    "admin_office",
    "monitor_snv",
)

OWN = {"officer_snv"}
"""Callers that read SNV's obligation as their own unit's."""
OFFICE = {"monitor_office", "admin_office"}
"""Callers that follow every unit for the Office."""
FEED_ALL = {"integration_office", "monitor_office", "admin_office"}


def _headers(api: Api, caller: str) -> dict[str, str]:
    t = api.actors.tokens
    return {
        "officer_snv": api.actors.unit_officer("SNV"),
        "officer_ward": api.actors.unit_officer("P31120"),
        "officer_office": api.actors.unit_officer("VPUB"),
        "integration_ward": api.actors.unit_integration("P31120"),
        "integration_office": api.actors.integration,
        "integration_no_unit": t.headers("eoffice-x", ["integration"], None),
        "monitor_office": api.actors.monitor,
        "admin_office": api.actors.admin,
        "monitor_snv": api.actors.foreign_monitor,
    }[caller]


def _expected(caller: str, endpoint: str) -> int:
    if endpoint in ("obligation", "evidence"):
        if caller in OWN | OFFICE:
            return 200
        return 404 if caller.startswith("officer_") else 403
    if endpoint == "my_obligations":
        return 200 if caller.startswith("officer_") else 403
    if endpoint == "events":
        return 200 if caller in FEED_ALL | {"integration_ward"} else 403
    return 200 if caller in OFFICE else 403  # the Office's functions


async def _world(api: Api) -> dict[str, Any]:
    directive = await api.dispatch()
    snv = await api.obligation_of("SNV", directive["id"])
    ward = await api.obligation_of("P31120", directive["id"])
    await api.acknowledge(snv["id"], "SNV")
    await api.acknowledge(ward["id"], "P31120")
    await api.ok("POST", f"/v1/obligations/{snv['id']}/reminders", api.actors.monitor, {"content": "Nhắc"}, 201)
    await api.submit(
        snv["id"],
        "SNV",
        {
            "facebook_followers": 120,
            "zalo_followers": 95,
            "posts_shared": 14,
            "website_links_portal": True,
            "notes": "Sở Nội vụ đã triển khai",
        },
    )
    upload = await api.client.post(
        f"/v1/obligations/{snv['id']}/evidence",
        files={"file": ("snv.pdf", PDF_BYTES, "application/pdf")},
        headers=api.actors.unit_officer("SNV"),
    )
    assert upload.status_code == 201, upload.text
    await api.sequence_events()
    return {"directive": directive, "snv": snv, "ward": ward, "evidence": upload.json()}


async def test_reads_are_scoped_by_role_and_unit(api: Api) -> None:
    world = await _world(api)
    d, snv, evidence = world["directive"]["id"], world["snv"]["id"], world["evidence"]["id"]
    endpoints = {
        "obligation": f"/v1/obligations/{snv}",
        "evidence": f"/v1/obligations/{snv}/evidence/{evidence}",
        "my_obligations": "/v1/me/obligations",
        "compliance": f"/v1/directives/{d}/compliance",
        "export_xlsx": f"/v1/directives/{d}/compliance?format=xlsx",
        "directive_obligations": f"/v1/directives/{d}/obligations",
        "dashboard": f"/dashboard/{d}",
        "events": "/v1/events?limit=500",
    }
    seen: dict[tuple[str, str], int] = {}
    for caller in CALLERS:
        headers = _headers(api, caller)
        for endpoint, url in endpoints.items():
            response = await api.client.get(url, headers=headers)
            seen[(caller, endpoint)] = response.status_code
            if response.status_code >= 400:
                assert response.headers["content-type"] == "application/problem+json", (caller, endpoint)
                assert "Sở Nội vụ" not in response.text and PDF_BYTES not in response.content, (caller, endpoint)
                continue
            if endpoint == "my_obligations":
                units = {o["unit_code"] for o in response.json()["items"]}
                assert units <= {_unit(caller)}, (caller, units)
            if endpoint == "events":
                units = {e["data"]["unit_code"] for e in response.json()["items"]}
                assert units == ({"SNV", "P31120"} if caller in FEED_ALL else {"P31120"}), (caller, units)
    expected = {(c, e): _expected(c, e) for c in CALLERS for e in endpoints}
    assert seen == expected


def _unit(caller: str) -> str:
    return {"officer_snv": "SNV", "officer_ward": "P31120", "officer_office": "VPUB"}[caller]


async def test_a_unit_reads_its_own_and_not_the_others(api: Api) -> None:
    """The other direction: the ward's officer reads the ward's obligation, SNV's officer does not."""
    world = await _world(api)
    ward = world["ward"]["id"]
    own = await api.client.get(f"/v1/obligations/{ward}", headers=api.actors.unit_officer("P31120"))
    assert own.status_code == 200 and own.json()["unit_code"] == "P31120"
    other = await api.client.get(f"/v1/obligations/{ward}", headers=api.actors.unit_officer("SNV"))
    assert other.status_code == 404 and "phường Cái Khế" not in other.text
    mine = await api.inbox("SNV")
    assert {o["unit_code"] for o in mine["items"]} == {"SNV"}
