"""Wake-up of relays when a transaction that emitted events commits.

:func:`common.outbox.emit` notes the outbox table's channel in the session; when that session
commits, PostgreSQL ``NOTIFY``s relays in any process (they ``LISTEN`` on a dedicated connection)
and relays of this process are woken directly (SQLite, embedded mode). A rollback forgets the
channels. The listeners are SQLAlchemy session events: a service registers them at start-up with
:func:`register_session_listeners` (the relay's poll interval covers a process that did not).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from common.outbox.models import OutboxEventMixin

__all__ = ["local_waiters", "register_session_listeners", "wake_channel"]

PENDING_CHANNELS = "common.outbox.wake_channels"
"""Key of ``Session.info`` holding the channels of the events the transaction emitted."""

local_waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
"""Relays of this process waiting on a channel (:meth:`common.outbox.Relay.run_forever`)."""


def wake_channel(model: type[OutboxEventMixin]) -> str:
    """The ``NOTIFY`` channel of an outbox table (one per table; notifications are per database)."""
    return f"outbox_{model.__tablename__}"  # type: ignore[attr-defined]


def _notify_relays(session: Session) -> None:
    channels = session.info.get(PENDING_CHANNELS)
    if channels and session.get_bind().dialect.name == "postgresql":
        for channel in sorted(channels):  # delivered by PostgreSQL only if the commit succeeds
            session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


def _wake_local_relays(session: Session) -> None:
    for channel in session.info.pop(PENDING_CHANNELS, ()):
        for loop, wake in list(local_waiters.get(channel, ())):
            if not loop.is_closed():
                loop.call_soon_threadsafe(wake.set)


def _forget_channels(session: Session) -> None:
    session.info.pop(PENDING_CHANNELS, None)


_LISTENERS = (
    ("before_commit", _notify_relays),
    ("after_commit", _wake_local_relays),
    ("after_rollback", _forget_channels),
)


def register_session_listeners() -> None:
    """Wake relays when a transaction that emitted events commits (every ``Session`` of the process).

    Call it once at start-up of every process that emits events (the services' ``create_app`` and
    a :class:`common.outbox.Relay` do); calling it again changes nothing.
    """
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
