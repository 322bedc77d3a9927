"""The webhook inbox runs on common.outbox's receiver: what it records, what it refuses."""

from __future__ import annotations

import json

from fastapi import FastAPI
from report_testing import Api, directive_payload, dispatched, event, small_addressees
from sqlalchemy import func, select

from common.webhooks import signature_headers
from report_api.events.models import ReceivedEvent


async def _received(app: FastAPI) -> list[ReceivedEvent]:
    async with app.state.sessionmaker() as session:
        return list((await session.scalars(select(ReceivedEvent))).all())


async def test_a_webhook_is_recorded_with_its_type_source_channel_and_the_apps_clock(api: Api, app: FastAPI) -> None:
    envelope = dispatched(directive_payload(), small_addressees())
    assert (await api.deliver(envelope)).json() == {"id": envelope["id"], "status": "applied"}
    [row] = await _received(app)
    assert (row.event_id, row.type, row.source, row.channel) == (
        envelope["id"],
        "directive.dispatched",
        "directive-api",
        "webhook",
    )
    assert row.received_at == api.clock()
    assert (await api.deliver(envelope)).json() == {"id": envelope["id"], "status": "duplicate"}
    assert len(await _received(app)) == 1


async def _post(api: Api, body: bytes, msg_id: str) -> int:
    headers = signature_headers(api.secret, msg_id, body, timestamp=int(api.clock().timestamp()))
    response = await api.client.post(
        "/v1/inbox/events", content=body, headers={**headers, "content-type": "application/json"}
    )
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.status_code


async def test_signed_bodies_that_are_not_one_event_are_refused_and_nothing_is_recorded(api: Api, app: FastAPI) -> None:
    envelope = event("directive.issued", {"directive": directive_payload()})
    other_id = json.dumps({**envelope, "id": "evt_other"}).encode()
    assert await _post(api, other_id, envelope["id"]) == 400  # the envelope's id is not the webhook-id
    assert await _post(api, b"[1, 2]", "evt_list") == 400  # not a JSON object
    assert await _post(api, b"\xff\xfe", "evt_bytes") == 400  # not JSON
    assert await _post(api, json.dumps({"id": "evt_bare"}).encode(), "evt_bare") == 400  # not an envelope
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ReceivedEvent)) == 0
