"""Status packages only move a delivery forward; any order and duplication ends in the same state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from directive_testing import Actors, Api
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from security_testing import SyncApi
from sqlalchemy import text

from common.db import transaction
from common.edxml import Organization, ResponseFor, build_status_package, make_status_package, parse_status_package
from directive_api.deliveries.status_order import STAGE, StatusPoint, supersedes
from directive_api.exchange import service

OURS = ResponseFor(organ_id="000.00.01.H13", code="01/VPUB-TTĐH", document_id="000.00.01.H13,2026/11/27,01/VPUB-TTĐH")
SNV = Organization(organ_id="000.00.02.H13", organ_name="Sở Nội vụ")
CODES = ("01", "02", "03", "04", "05", "06", "13", "15", "16")
BASE = datetime(2026, 11, 28, 8, 0)  # Vietnam local time, as edXML Timestamps are


def _own(actors: Actors, unit_code: str) -> dict[str, str]:
    """A clerk of the sending unit: a unit posts status packages only for itself."""
    return actors.tokens.headers(f"clerk-{unit_code.lower()}", ["clerk"], unit_code)


def _xml(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "application/xml"}


def _status(sender: Organization, code: str, minutes: int, description: str | None = None) -> bytes:
    package = make_status_package(
        sender=sender,
        document=OURS,
        status_code=code,
        description=description,
        timestamp=BASE + timedelta(minutes=minutes),
    )
    return build_status_package(package)


# --- the order itself -----------------------------------------------------------------------------

points = st.builds(
    StatusPoint,
    status=st.sampled_from(CODES),
    at=st.integers(0, 5).map(lambda m: datetime(2026, 11, 28, 1, m, tzinfo=UTC)),
    reason=st.sampled_from([None, "a", "b"]),
)


def _fold(start: StatusPoint, received: list[StatusPoint]) -> StatusPoint:
    state = start
    for point in received:
        if supersedes(point, state):
            state = point
    return state


@settings(max_examples=500, deadline=None)
@given(received=st.lists(points, min_size=1, max_size=12), data=st.data())
def test_any_order_and_duplication_of_points_ends_in_the_same_state(
    received: list[StatusPoint], data: st.DataObject
) -> None:
    start = StatusPoint("sent", datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
    replayed = data.draw(st.permutations(received + data.draw(st.lists(st.sampled_from(received), max_size=6))))
    assert _fold(start, replayed) == _fold(start, received)
    # Forward only: nothing earlier in the code order than the state's stage survives.
    final = _fold(start, received)
    assert STAGE[final.status] == max(STAGE[p.status] for p in received)


# --- through the API ------------------------------------------------------------------------------


async def _dispatched(api: Api, actors: Actors, letter: dict[str, Any]) -> dict[str, Any]:
    issued = await api.advance(await api.approved(letter), "issue", actors.clerk)
    return await api.advance(issued, "dispatch", actors.clerk)


async def _snv(api: Api, actors: Actors, doc: dict[str, Any]) -> dict[str, Any]:
    recipients = (await api.client.get(f"/v1/directives/{doc['id']}/recipients", headers=actors.clerk)).json()
    found: dict[str, Any] = next(i for i in recipients["items"] if i["unit_code"] == "SNV")
    return found


async def _count(app: FastAPI, sql: str) -> int:
    async with app.state.engine.connect() as connection:
        return int((await connection.execute(text(sql))).scalar_one())


async def test_an_older_01_after_06_changes_nothing_and_a_duplicate_is_recorded_once(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    doc = await _dispatched(api, actors, letter)
    done = await api.client.post("/v1/edxml/status", content=_status(SNV, "06", 30), headers=_xml(_own(actors, "SNV")))
    assert done.status_code == 200, done.text
    assert done.json()["deliveries"][0]["outcome"] == "applied"
    late = await api.client.post("/v1/edxml/status", content=_status(SNV, "01", 5), headers=_xml(_own(actors, "SNV")))
    assert late.status_code == 200
    assert late.json()["deliveries"][0] | {} == {
        "directive_id": doc["id"],
        "unit_code": "SNV",
        "status": "06",
        "outcome": "unchanged",
    }
    events = await _count(app, "SELECT count(*) FROM outbox_events WHERE type = 'delivery.status_changed'")
    again = await api.client.post("/v1/edxml/status", content=_status(SNV, "06", 30), headers=_xml(_own(actors, "SNV")))
    assert again.json()["deliveries"][0]["outcome"] == "duplicate"
    snv = await _snv(api, actors, doc)
    assert snv["status"] == "06"
    assert await _count(app, "SELECT count(*) FROM exchange_packages WHERE direction = 'in'") == 2
    assert await _count(app, "SELECT count(*) FROM delivery_status_log WHERE status = '06'") == 1
    assert await _count(app, "SELECT count(*) FROM delivery_status_log WHERE status = '01'") == 0
    assert await _count(app, "SELECT count(*) FROM outbox_events WHERE type = 'delivery.status_changed'") == events
    # The recall track comes after the document's own life; its last word (by Timestamp) stands.
    for code, minutes in (("16", 50), ("13", 40)):
        await api.client.post(
            "/v1/edxml/status", content=_status(SNV, code, minutes), headers=_xml(_own(actors, "SNV"))
        )
    assert (await _snv(api, actors, doc))["status"] == "16"


# A sequence of distinct status packages from one unit: codes, minutes after BASE, descriptions.
package_sets = st.lists(
    st.tuples(st.sampled_from(CODES), st.integers(0, 4), st.sampled_from([None, "Đã xử lý xong."])),
    min_size=1,
    max_size=5,
    unique=True,
)


def _dispatch_sync(api: SyncApi, actors: Actors, letter: dict[str, Any]) -> str:
    def act(doc: dict[str, Any], action: str, headers: dict[str, str]) -> dict[str, Any]:
        response = api.request(  # approving renders and signs the PDF: slow on a loaded machine
            "POST", f"/v1/directives/{doc['id']}/{action}", headers={**headers, "If-Match": doc["etag"]}, timeout=180
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    created = api.request("POST", "/v1/directives", json=letter, headers=actors.drafter)
    assert created.status_code == 201, created.text
    doc = created.json()
    for action, who in (("submit", actors.drafter), ("approve", actors.signer), ("issue", actors.clerk)):
        doc = act(doc, action, who)
    return str(act(doc, "dispatch", actors.clerk)["id"])


def test_any_order_and_duplication_of_packages_ends_in_the_same_delivery_state(
    sync_api: SyncApi, actors: Actors, letter: dict[str, Any]
) -> None:
    doc_id = _dispatch_sync(sync_api, actors, letter)
    recipients = sync_api.request("GET", f"/v1/directives/{doc_id}/recipients", headers=actors.clerk).json()
    codes = {item["unit_code"] for item in recipients["items"]}
    units = [u for u in sync_api.request("GET", "/v1/orgs", headers=actors.clerk).json() if u["code"] in codes]
    assert len(units) == 130
    pairs = iter(zip(units[0::2], units[1::2], strict=True))

    def state_of(code: str) -> tuple[str, str | None, str]:
        items = sync_api.request("GET", f"/v1/directives/{doc_id}/recipients", headers=actors.clerk).json()["items"]
        item = next(i for i in items if i["unit_code"] == code)
        return item["status"], item["status_reason"], item["status_at"]

    def post(unit: dict[str, Any], package: tuple[str, int, str | None]) -> None:
        sender = Organization(organ_id=unit["organ_id"], organ_name=unit["name"])
        response = sync_api.request(
            "POST", "/v1/edxml/status", content=_status(sender, *package), headers=_xml(_own(actors, unit["code"]))
        )
        assert response.status_code == 200, response.text

    # Each example takes two fresh deliveries of the 130: no shrinking phase (it would need more).
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
    )
    @given(packages=package_sets, data=st.data())
    def check(packages: list[tuple[str, int, str | None]], data: st.DataObject) -> None:
        in_order, shuffled = next(pairs)  # two fresh deliveries of the same document per example
        for package in sorted(packages, key=lambda p: p[1]):
            post(in_order, package)
        extra = data.draw(st.lists(st.sampled_from(packages), max_size=4))
        for package in data.draw(st.permutations(packages + extra)):
            post(shuffled, package)
        assert state_of(shuffled["code"]) == state_of(in_order["code"])

    check()


def test_a_batch_in_any_order_and_duplication_ends_where_packages_one_by_one_do(
    sync_api: SyncApi, actors: Actors, letter: dict[str, Any]
) -> None:
    """The transport applies what it polled in batches (service.apply_status_packages, a few bulk
    statements): split anywhere, shuffled and repeated, they end in the state, records and events
    that the packages posted one by one in order give."""
    doc_id = _dispatch_sync(sync_api, actors, letter)
    recipients = sync_api.request("GET", f"/v1/directives/{doc_id}/recipients", headers=actors.clerk).json()
    codes = {item["unit_code"] for item in recipients["items"]}
    units = [u for u in sync_api.request("GET", "/v1/orgs", headers=actors.clerk).json() if u["code"] in codes]
    pairs = iter(zip(units[0::2], units[1::2], strict=True))
    app = sync_api.app
    pdf = app.state.pdf

    def state_of(code: str) -> tuple[str, str | None, str]:
        items = sync_api.request("GET", f"/v1/directives/{doc_id}/recipients", headers=actors.clerk).json()["items"]
        item = next(i for i in items if i["unit_code"] == code)
        return item["status"], item["status_reason"], item["status_at"]

    def count(sql: str, **params: str) -> int:
        async def run() -> int:
            async with app.state.engine.connect() as connection:
                return int((await connection.execute(text(sql), params)).scalar_one())

        return sync_api.runner.run(run())

    def trail(unit: dict[str, Any]) -> tuple[int, int, int]:
        """Packages recorded from the unit, its status log entries, status_changed events (all)."""
        return (
            count("SELECT count(*) FROM exchange_packages WHERE sender_organ_id = :o", o=unit["organ_id"]),
            count(
                "SELECT count(*) FROM delivery_status_log l JOIN deliveries d ON d.id = l.delivery_id "
                "WHERE d.unit_code = :u AND l.source = 'edxml'",
                u=unit["code"],
            ),
            count("SELECT count(*) FROM outbox_events WHERE type = 'delivery.status_changed'"),
        )

    def apply(unit: dict[str, Any], packages: list[tuple[str, int, str | None]]) -> list[str]:
        sender = Organization(organ_id=unit["organ_id"], organ_name=unit["name"])
        raws = [_status(sender, *package) for package in packages]

        async def run() -> list[str]:
            async with transaction(app.state.sessionmaker) as session:
                results = await service.apply_status_packages(
                    session,
                    [(parse_status_package(raw), raw) for raw in raws],
                    settings=pdf.settings,
                    store=pdf.store,
                    now=datetime.now(UTC),
                )
            outcomes = []
            for result in results:
                assert isinstance(result, service.Applied), result
                outcomes += [outcome for _delivery, _directive, outcome in result.deliveries]
            return outcomes

        return sync_api.runner.run(run())

    def post(unit: dict[str, Any], package: tuple[str, int, str | None]) -> None:
        sender = Organization(organ_id=unit["organ_id"], organ_name=unit["name"])
        response = sync_api.request(
            "POST", "/v1/edxml/status", content=_status(sender, *package), headers=_xml(_own(actors, unit["code"]))
        )
        assert response.status_code == 200, response.text

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
    )
    @given(packages=package_sets, data=st.data())
    def check(packages: list[tuple[str, int, str | None]], data: st.DataObject) -> None:
        one_by_one, batched = next(pairs)
        for package in sorted(packages, key=lambda p: p[1]):
            post(one_by_one, package)
        extra = data.draw(st.lists(st.sampled_from(packages), max_size=4))
        received = data.draw(st.permutations(packages + extra))
        split = data.draw(st.integers(0, len(received)))
        events_before = trail(batched)[2]
        outcomes = apply(batched, received[:split]) + apply(batched, received[split:])
        assert outcomes.count("duplicate") == len(extra)
        assert state_of(batched["code"]) == state_of(one_by_one["code"])
        recorded, logged, events_after = trail(batched)
        assert recorded == len(packages)  # each package recorded once
        # One log entry and one event per change, none for a duplicate or an overtaken package.
        assert logged == events_after - events_before == outcomes.count("applied")

    check()
