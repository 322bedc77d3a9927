"""Outbox, relay, receiver and feed, in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from outbox_models import (
    MODELS,
    OutboxEvent,
    ReceivedEvent,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookSubscription,
    relay_settings,
)
from outbox_testkit import Receiver
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from common.db import transaction, utc_now
from common.outbox import (
    DEAD,
    DELIVERED,
    PENDING,
    Relay,
    WebhookSettings,
    claim_received,
    create_subscription,
    emit,
    ensure_subscription,
    event_matches,
    feed,
    rotate_secret,
    subscription_view,
)
from common.webhooks import UnsafeUrlError, generate_secret
from conftest import Database


async def subscribe(db: Database, receiver: Receiver, types: list[str] | None = None) -> tuple[str, str]:
    async with transaction(db.maker) as session:
        sub, secret = await create_subscription(
            session,
            WebhookSubscription,
            owner="integration:test",
            url=receiver.url,
            event_types=types or ["*"],
            settings=relay_settings(),
        )
    receiver.state.secrets = [secret]
    return sub.id, secret


async def emit_events(db: Database, n: int, type_: str = "directive.dispatched") -> list[str]:
    async with transaction(db.maker) as session:
        events = [
            emit(
                session,
                OutboxEvent,
                type=type_,
                subject=f"d{i}",
                data={"n": i, "title": "Chỉ thị số 01"},
                source="directive-api",
            )
            for i in range(n)
        ]
    return [e.id for e in events]


async def deliveries(db: Database) -> list[WebhookDelivery]:
    async with db.maker() as session:
        return list((await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at))).all())


async def test_rolled_back_event_is_never_delivered(db: Database, receiver: Receiver) -> None:
    await subscribe(db, receiver, ["directive.*"])

    async def failing_business_change() -> None:
        async with transaction(db.maker) as session:
            emit(session, OutboxEvent, type="directive.issued", subject="x", data={}, source="directive-api")
            raise RuntimeError("business rule failed")

    with pytest.raises(RuntimeError):
        await failing_business_change()
    kept = await emit_events(db, 1)
    await emit_events(db, 1, type_="obligation.submitted")  # filtered out by the subscription
    async with Relay(db.maker, MODELS, relay_settings()) as relay:
        await relay.step()
        assert await relay.step() == 0
        stats = await relay.stats()
    assert receiver.state.raw_posts == kept
    assert dict(receiver.state.applied) == {kept[0]: 1}
    assert stats == {PENDING: 0, DELIVERED: 1, DEAD: 0, "unsequenced": 0}
    async with db.maker() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 2


async def test_failing_receiver_retries_with_backoff_then_applies_once(db: Database, receiver: Receiver) -> None:
    await subscribe(db, receiver)
    [event_id] = await emit_events(db, 1)
    receiver.state.fail_first = 2
    t0 = utc_now()
    async with Relay(db.maker, MODELS, relay_settings(backoff_base_seconds=1.0)) as relay:
        assert await relay.step(t0) == 2  # one event fanned out + one attempt
        [d] = await deliveries(db)
        assert (d.status, d.attempts, d.next_attempt_at) == (PENDING, 1, t0 + timedelta(seconds=1))
        assert d.claimed_until is None and d.last_status_code == 500
        assert await relay.deliver_due(t0 + timedelta(seconds=0.9)) == 0  # not due yet
        assert await relay.deliver_due(t0 + timedelta(seconds=1)) == 1
        [d] = await deliveries(db)
        assert (d.attempts, d.next_attempt_at) == (2, t0 + timedelta(seconds=3))  # 1 s, then 2 s
        assert await relay.deliver_due(t0 + timedelta(seconds=2.9)) == 0
        assert await relay.deliver_due(t0 + timedelta(seconds=3)) == 1
        assert await relay.deliver_due(t0 + timedelta(seconds=100)) == 0
    [d] = await deliveries(db)
    assert (d.status, d.attempts, d.last_error) == (DELIVERED, 3, None)
    assert d.delivered_at is not None
    async with db.maker() as session:
        log = (await session.scalars(select(WebhookDeliveryAttempt).order_by(WebhookDeliveryAttempt.attempt))).all()
    assert [(a.attempt, a.status_code, a.error) for a in log] == [
        (1, 500, "HTTP 500"),
        (2, 500, "HTTP 500"),
        (3, 204, None),
    ]
    assert all(a.latency_ms >= 0 and a.delivery_id == d.id for a in log)
    assert receiver.state.raw_posts == [event_id] * 3
    assert dict(receiver.state.applied) == {event_id: 1}


@pytest.mark.parametrize("status", [400, 422])
async def test_an_event_the_receiver_refuses_is_dead_lettered_at_once_with_its_reason(
    db: Database, receiver: Receiver, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A poison event (report-api cannot apply it) was retried for hours before; now it is visible at once."""
    await subscribe(db, receiver)
    [event_id] = await emit_events(db, 1)
    receiver.state.always_fail = True
    receiver.state.fail_status = status
    receiver.state.fail_body = b'{"title":"The event is not understood","detail":"due_date 9999-12-31 is too far"}'
    t0 = utc_now()
    with caplog.at_level("ERROR", logger="common.outbox"):
        async with Relay(db.maker, MODELS, relay_settings(max_attempts=10)) as relay:
            await relay.step(t0)
            [d] = await deliveries(db)
            assert (d.status, d.attempts, d.last_status_code) == (DEAD, 1, status)
            assert d.last_error is not None and "due_date 9999-12-31 is too far" in d.last_error
            assert d.last_error.startswith(f"HTTP {status}")
            assert await relay.deliver_due(t0 + timedelta(days=1)) == 0
            assert (await relay.stats())[DEAD] == 1
    assert receiver.state.raw_posts == [event_id]
    assert any("dead-lettered" in r.getMessage() and event_id in r.getMessage() for r in caplog.records)


async def test_dead_letter_after_max_attempts_and_replay(db: Database, receiver: Receiver) -> None:
    await subscribe(db, receiver)
    [event_id] = await emit_events(db, 1)
    receiver.state.always_fail = True
    t0 = utc_now()
    async with Relay(db.maker, MODELS, relay_settings(max_attempts=3)) as relay:
        await relay.step(t0)
        await relay.deliver_due(t0 + timedelta(seconds=1))
        await relay.deliver_due(t0 + timedelta(seconds=3))
        [d] = await deliveries(db)
        assert (d.status, d.attempts, d.last_error) == (DEAD, 3, "HTTP 500")
        assert await relay.deliver_due(t0 + timedelta(days=1)) == 0  # dead letters are not retried
        assert await relay.replay(event_id="evt_unknown") == 0
        receiver.state.always_fail = False
        assert await relay.replay(delivery_id=d.id) == 1
        assert await relay.replay(delivery_id=d.id) == 0  # already pending
        assert await relay.deliver_due() == 1
        [d] = await deliveries(db)
        assert (d.status, d.attempts) == (DELIVERED, 1)
        # Replaying a delivered event sends it again; the receiver recognises the webhook-id.
        assert await relay.replay(event_id=event_id) == 1
        assert await relay.deliver_due() == 1
        with pytest.raises(ValueError, match="exactly one"):
            await relay.replay()
    assert receiver.state.raw_posts == [event_id] * 5
    assert dict(receiver.state.applied) == {event_id: 1}
    assert receiver.state.duplicates == 1
    async with db.maker() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookDeliveryAttempt)) == 5


async def test_signature_verifies_with_reference_library_during_rotation(db: Database, receiver: Receiver) -> None:
    sub_id, first = await subscribe(db, receiver)
    async with transaction(db.maker) as session:
        sub = await session.get(WebhookSubscription, sub_id)
        assert sub is not None
        second = rotate_secret(sub)
        view = subscription_view(sub)
    assert second != first and view["secrets"] == [second[:10] + "…", first[:10] + "…"]
    assert first not in str(view) and second not in str(view)
    receiver.state.secrets = [second, first]  # the fake receiver checks each key alone
    [event_id] = await emit_events(db, 1)
    async with Relay(db.maker, MODELS, relay_settings()) as relay:
        await relay.step()
    assert receiver.state.reference_verified == 2
    body, headers = receiver.state.bodies[event_id], receiver.state.headers[event_id]
    assert headers["webhook-id"] == event_id and headers["content-type"] == "application/json"
    assert len(headers["webhook-signature"].split(" ")) == 2
    wanted = {k: headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    envelope = Webhook(second).verify(body, wanted)
    assert set(envelope) == {"id", "type", "occurred_at", "source", "subject", "sequence", "data"}
    assert envelope["id"] == event_id and envelope["sequence"] == 1 and envelope["source"] == "directive-api"
    assert envelope["data"] == {"n": 0, "title": "Chỉ thị số 01"} and envelope["occurred_at"].endswith("Z")
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(generate_secret()).verify(body, wanted)


async def test_replicas_registering_the_configured_subscription_at_once_make_one_row(
    db: Database, receiver: Receiver
) -> None:
    """Worker replicas start together and each registers the configured subscriber: one row, not two."""
    first, second = generate_secret(), generate_secret()

    async def register(secret: str, types: list[str]) -> None:
        async with transaction(db.maker) as session:
            await ensure_subscription(
                session,
                WebhookSubscription,
                owner="report-api",
                url=receiver.url,
                event_types=types,
                settings=relay_settings(),
                secret=secret,
            )

    async def rows() -> list[WebhookSubscription]:
        async with db.maker() as session:
            return list((await session.scalars(select(WebhookSubscription))).all())

    await asyncio.gather(*(register(first, ["directive.*"]) for _ in range(4)))
    (row,) = await rows()
    assert (row.secrets, row.event_types, row.active) == ([first], ["directive.*"], True)

    # Deactivated meanwhile; the configuration changed its secret and types: updated in place, the
    # old secret still signing during the rotation.
    async with transaction(db.maker) as session:
        stored = await session.get(WebhookSubscription, row.id)
        assert stored is not None
        stored.active = False
    await asyncio.gather(*(register(second, ["directive.*", "delivery.*"]) for _ in range(4)))
    (row,) = await rows()
    assert (row.secrets, row.event_types, row.active) == ([second, first], ["directive.*", "delivery.*"], True)

    with pytest.raises(ValueError, match="event_types"):
        await register(second, [" "])
    assert [r.event_types for r in await rows()] == [["directive.*", "delivery.*"]]

    # A duplicate left by an earlier race is deactivated; the oldest row stays the subscription.
    async with transaction(db.maker) as session:
        await create_subscription(
            session,
            WebhookSubscription,
            owner="report-api",
            url=receiver.url,
            event_types=["*"],
            settings=relay_settings(),
            secret=first,
        )
    await register(second, ["directive.*"])
    assert sorted((r.id == row.id, r.active) for r in await rows()) == [(False, False), (True, True)]


async def test_feed_returns_events_in_sequence_order_with_cursor(db: Database) -> None:
    ids = []
    for _ in range(5):
        ids += await emit_events(db, 5)
    async with db.maker() as session:
        assert await feed(session, OutboxEvent, after=0, limit=10) == ([], 0)  # not sequenced yet
    async with Relay(db.maker, MODELS, relay_settings()) as relay:
        await relay.step()
    seen: list[str] = []
    cursor, pages = 0, 0
    while True:
        async with db.maker() as session:
            items, next_cursor = await feed(session, OutboxEvent, after=cursor, limit=10)
        if not items:
            assert next_cursor == cursor
            break
        pages += 1
        assert [i["sequence"] for i in items] == list(range(cursor + 1, cursor + 1 + len(items)))
        assert next_cursor == items[-1]["sequence"]
        seen += [i["id"] for i in items]
        cursor = next_cursor
    assert pages == 3 and cursor == 25
    assert seen == ids  # in emission order
    async with db.maker() as session:
        items, _ = await feed(session, OutboxEvent, after=23, limit=0)  # clamped to 1
    assert [i["sequence"] for i in items] == [24]


async def test_feed_cursor_never_skips_an_event_committed_out_of_order(pg_db: Database) -> None:
    """T1 inserts first but commits after T2: the feed must still show T1's event after T2's."""
    db = pg_db
    relay = Relay(db.maker, MODELS, relay_settings())
    slow = db.maker()
    await slow.begin()
    slow_event = emit(slow, OutboxEvent, type="a", subject="1", data={}, source="s")
    await slow.flush()
    [fast_id] = await emit_events(db, 1)
    await relay.step()
    async with db.maker() as session:
        items, cursor = await feed(session, OutboxEvent, after=0, limit=100)
    assert [i["id"] for i in items] == [fast_id] and cursor == 1
    await slow.commit()
    await slow.close()
    await relay.step()
    async with db.maker() as session:
        items, cursor = await feed(session, OutboxEvent, after=cursor, limit=100)
    assert [(i["id"], i["sequence"]) for i in items] == [(slow_event.id, 2)]
    await relay.aclose()


async def test_ssrf_subscriptions_refused_unless_allow_listed(sqlite_db: Database) -> None:
    strict = WebhookSettings()
    async with transaction(sqlite_db.maker) as session:
        for url in (
            "https://127.0.0.1/hook",
            "https://10.0.0.1/hook",
            "http://127.0.0.1:8080/hook",
            "https://169.254.169.254/latest",
        ):
            with pytest.raises(UnsafeUrlError):
                await create_subscription(
                    session, WebhookSubscription, owner="o", url=url, event_types=["*"], settings=strict
                )
        with pytest.raises(UnsafeUrlError):  # private allowed, loopback still refused
            await create_subscription(
                session,
                WebhookSubscription,
                owner="o",
                url="https://127.0.0.1/h",
                event_types=["*"],
                settings=WebhookSettings(allow_private=True),
            )
        private, _ = await create_subscription(
            session,
            WebhookSubscription,
            owner="o",
            url="https://10.0.0.1/h",
            event_types=["*"],
            settings=WebhookSettings(allow_private=True),
        )
        listed, secret = await create_subscription(
            session,
            WebhookSubscription,
            owner="o",
            url="http://127.0.0.1:8080/h",
            event_types=["*"],
            settings=WebhookSettings(allow_hosts=["127.0.0.1:8080"]),
        )
        with pytest.raises(ValueError, match="event_types"):
            await create_subscription(
                session,
                WebhookSubscription,
                owner="o",
                url="https://10.0.0.1/h",
                event_types=[],
                settings=WebhookSettings(allow_private=True),
            )
    assert secret.startswith("whsec_") and listed.secrets == [secret] and private.url == "https://10.0.0.1/h"
    # The relay checks again before each POST: a URL that is not allowed by *its* settings is not contacted.
    await emit_events(sqlite_db, 1)
    async with Relay(sqlite_db.maker, MODELS, strict) as relay:
        await relay.step()
    async with sqlite_db.maker() as session:
        errors = (await session.scalars(select(WebhookDeliveryAttempt.error))).all()
    assert len(errors) == 2 and all(e and e.startswith("unsafe URL") for e in errors)


def test_event_type_filter() -> None:
    assert event_matches(["*"], "directive.issued")
    assert event_matches(["directive.*"], "directive.issued")
    assert not event_matches(["directive.*"], "obligation.submitted")
    assert event_matches(["obligation.submitted"], "obligation.submitted")
    assert not event_matches(["directive"], "directive.issued")


async def test_claim_received_dedupes_in_the_callers_transaction(db: Database) -> None:
    async with transaction(db.maker) as session:
        assert await claim_received(session, ReceivedEvent, "evt_1", source="directive-api", type="t")
        assert not await claim_received(session, ReceivedEvent, "evt_1")

    async def failing_apply() -> None:
        async with transaction(db.maker) as session:
            assert await claim_received(session, ReceivedEvent, "evt_2")
            raise RuntimeError("applying failed: the claim rolls back too")

    with pytest.raises(RuntimeError):
        await failing_apply()
    async with transaction(db.maker) as session:
        assert await claim_received(session, ReceivedEvent, "evt_2")
        assert not await claim_received(session, ReceivedEvent, "evt_1")


async def test_run_forever_delivers_and_stops_when_asked(db: Database, receiver: Receiver) -> None:
    await subscribe(db, receiver)
    ids = await emit_events(db, 15)
    stop = asyncio.Event()
    async with Relay(db.maker, MODELS, relay_settings(batch_size=4)) as relay:
        worker = asyncio.create_task(relay.run_forever(stop, poll_interval=0.02))
        for _ in range(500):
            if len(receiver.state.applied) == 15:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(worker, timeout=5)
        assert (await relay.stats())[DELIVERED] == 15
    assert sorted(receiver.state.applied) == sorted(ids) and set(receiver.state.applied.values()) == {1}


def test_emit_rejects_non_json_data() -> None:
    with pytest.raises(TypeError):
        emit(None, OutboxEvent, type="t", subject="s", data={"x": object()}, source="s")  # type: ignore[arg-type]


async def _delivered_within(receiver: Receiver, ids: list[str], seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if set(ids) <= set(receiver.state.applied):
            return True
        await asyncio.sleep(0.01)
    return False


async def test_a_commit_wakes_an_idle_relay_in_the_same_process(db: Database, receiver: Receiver) -> None:
    """The relay polls every 60 s here: only the commit's wake-up can deliver within 3 s."""
    await subscribe(db, receiver)
    stop = asyncio.Event()
    async with Relay(db.maker, MODELS, relay_settings()) as relay:
        worker = asyncio.create_task(relay.run_forever(stop, poll_interval=60))
        await asyncio.sleep(0.3)  # idle, waiting
        first = await emit_events(db, 1)
        assert await _delivered_within(receiver, first, 3)
        await asyncio.sleep(0.3)
        second = await emit_events(db, 2)
        assert await _delivered_within(receiver, second, 3)
        stop.set()
        await asyncio.wait_for(worker, timeout=5)


async def test_notify_wakes_a_relay_of_another_process(
    pg_db: Database, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: with the same-process path cut off, the relay is woken by LISTEN/NOTIFY alone."""
    from common.outbox import wake

    await subscribe(pg_db, receiver)
    stop = asyncio.Event()
    async with Relay(pg_db.maker, MODELS, relay_settings()) as relay:
        worker = asyncio.create_task(relay.run_forever(stop, poll_interval=60))
        await asyncio.sleep(0.5)  # listening, idle
        monkeypatch.setattr(wake, "local_waiters", {})  # as if the emitter were another process
        ids = await emit_events(pg_db, 1)
        assert await _delivered_within(receiver, ids, 3)
        stop.set()
        await asyncio.wait_for(worker, timeout=5)


@pytest.fixture
def private_keyring() -> Iterator[None]:
    """The keyring is process-wide: give it back as it was (relays in other processes have no key)."""
    from common.outbox import secrets

    saved = list(secrets._SECRET_KEYS)
    yield
    secrets._SECRET_KEYS[:] = saved


@pytest.mark.usefixtures("private_keyring")
async def test_endpoint_secrets_are_encrypted_at_rest_with_the_configured_key(db: Database, receiver: Receiver) -> None:
    """Backups and database files held webhook secrets in clear; with a key they hold ciphertext."""
    from cryptography.fernet import Fernet
    from pydantic import SecretStr
    from sqlalchemy import text

    key = Fernet.generate_key().decode()
    settings = relay_settings(secrets_keys=[SecretStr(key)])
    async with transaction(db.maker) as session:
        legacy = WebhookSubscription(
            id="sub_legacy", owner="o", url=receiver.url, event_types=["x.*"], secrets=[generate_secret()], active=True
        )
        session.add(legacy)  # written before any key: stays readable
    async with transaction(db.maker) as session:
        subscription, secret = await create_subscription(
            session, WebhookSubscription, owner="o", url=receiver.url, event_types=["*"], settings=settings
        )
    receiver.state.secrets = [secret]
    async with db.engine.connect() as connection:
        rows = dict((await connection.execute(text("SELECT id, secrets FROM webhook_subscriptions"))).all())
    stored = str(rows[subscription.id])
    assert secret not in stored and secret[6:20] not in stored and "enc:v1:" in stored
    async with db.maker() as session:
        assert (await session.get(WebhookSubscription, subscription.id)).secrets == [secret]  # type: ignore[union-attr]
        assert (await session.get(WebhookSubscription, "sub_legacy")).secrets[0].startswith("whsec_")  # type: ignore[union-attr]
    [event_id] = await emit_events(db, 1)
    async with Relay(db.maker, MODELS, settings) as relay:
        await relay.step()
        await relay.step()
    assert dict(receiver.state.applied) == {event_id: 1}  # signed with the decrypted secret
    assert receiver.state.reference_verified >= 1
    with pytest.raises(ValueError, match="Fernet"):
        relay_settings(secrets_keys=[SecretStr("not-a-key")])
