"""The exchange transport: dispatched documents leave through the VXP hub; status and reply packages
found there are applied and acknowledged.

One round (:func:`step`), run by the worker:

1. **enqueue** — every dispatched document with a delivery on the ``edxml`` channel gets one outbox
   row (``<directive id>:document``, ``…:update`` for a đính chính, ``…:replacement`` for a
   replacing document); a recalled one that was sent gets ``…:revocation``; a reply or a document
   that arrived gets our status packages (queued when it is applied, and by report-api's events:
   received.py). The unique
   ``package_key`` makes that once per package, whatever the number of workers.
2. **send** — each due row is claimed for a lease (other workers skip it), its package built and
   signed (as ``GET …/edxml`` does), sent with ``/sendEdoc`` outside any transaction, then marked
   ``sent`` with the hub's DocId and recorded. A hub or network failure retries with doubling
   back-off; after ``max_attempts``, or at once when the package cannot be built (a recipient
   without an organ id), the row is ``dead`` with the reason. A crash between the hub's answer and
   the commit sends it again once the lease ends (the hub sees two).
3. **poll** — status packages then documents waiting at the hub are fetched (:data:`IN_FLIGHT` at
   a time, the next batch while one is applied; a document stored at once, a status package in
   the row that records it), applied in batches of
   :data:`POLL_BATCH` in one transaction each (the same rules as ``POST /v1/edxml/status`` and
   ``/inbox``: ordered, de-duplicated, unknown senders quarantined; status packages with a few bulk
   statements per batch, documents each in its own savepoint) and, once that transaction
   committed, acknowledged ``done``; a package that cannot be applied is acknowledged ``fail`` and
   logged. An acknowledgement lost after the commit only makes the package come back once more,
   and applying it again changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.db import transaction
from common.edxml import (
    EdxmlError,
    ParseLimits,
    StatusCode,
    StatusPackage,
    parse_document_package,
    parse_status_package,
)
from common.problems import ProblemError
from common.vxp import VxpError
from common.vxp.client import VxpClient
from common.vxp.protocol import Knobstick
from directive_api.directives.models import Directive
from directive_api.exchange import received, repository, service, signing
from directive_api.exchange.models import ExchangeOutbox
from directive_api.orgs.models import Unit
from directive_api.pdfs.service import PdfContext

logger = logging.getLogger(__name__)
T = TypeVar("T")

BATCH = 20
POLL_BATCH = 200
"""Packages applied in one transaction."""
IN_FLIGHT = 32
"""Hub calls in flight at once (a poll round: twice as many, fetches and acknowledgements together)."""
LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(minutes=10)


@dataclass
class Round:
    enqueued: int = 0
    sent: int = 0
    failed: int = 0
    applied: int = 0
    refused: int = 0

    @property
    def busy(self) -> int:
        return self.enqueued + self.sent + self.failed + self.applied + self.refused


async def enqueue(session: AsyncSession, *, now: datetime) -> int:
    """Outbox rows for dispatched documents (a đính chính as an update package, a replacing document
    as a replacement package), for a document declared the replacement of another after it was sent,
    and for recalls of documents that were sent."""
    pairs = await repository.dispatched_unqueued(session, limit=200)
    pairs += [(directive_id, "replacement") for directive_id in await repository.declared_replacements(session)]
    pairs += [(directive_id, "revocation") for directive_id in await repository.recalled_sent(session)]
    rows: list[dict[str, object]] = [
        {
            "package_key": f"{directive_id}:{kind}",
            "directive_id": directive_id,
            "kind": kind,
            "message_type": "edoc",
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for directive_id, kind in pairs
    ]
    return await repository.queue_many(session, rows)


def _backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=2 ** min(attempts, 12)))


async def _send_one(
    maker: async_sessionmaker[AsyncSession], row_id: int, client: VxpClient, pdf: PdfContext, *, now: datetime
) -> str:
    """Send one outbox row; ``sent``, ``retry``, ``dead`` or ``skip``.

    The package is built and signed in one short transaction (rolled back: nothing is recorded yet),
    sent outside any transaction (on SQLite a transaction holds the database's write lock, and the
    hub may be slow), then recorded as sent. The claim's lease keeps other workers off the row."""
    settings = pdf.settings
    assert settings.exchange.vxp is not None
    error: str
    try:
        async with maker() as session:
            row = await session.get(ExchangeOutbox, row_id)
            if row is None or row.state != "pending":
                return "skip"
            kind, message_type, sha256 = row.kind, row.message_type, row.sha256
            summary: str | None = row.package_key
            if row.received_document_id is not None:  # our answer about a document that reached us
                unsigned, unit, sender = await received.status_package(
                    session,
                    row.received_document_id,
                    row.status_code or "01",
                    at=row.created_at,
                    settings=settings,
                    description=row.description,
                )
                data = await signing.sign(unsigned, pdf.keys, unit, settings)
            else:
                if row.directive_id is None:
                    return "skip"
                directive = await session.get(Directive, row.directive_id)
                assert directive is not None
                issuer = await session.get(Unit, directive.issuer_code)
                assert issuer is not None
                sender = service.organ_id_of(issuer, settings) or ""
                if kind == "status":
                    assert sha256 is not None
                    data = await signing.sign(await pdf.store.get_async(sha256), pdf.keys, issuer, settings)
                else:
                    data, _skipped, _sender, summary = await service.build_export(
                        session, directive, kind=kind, settings=settings, store=pdf.store, keys=pdf.keys
                    )
            await session.rollback()  # nothing is recorded before the hub took the package
        hub_doc_id = await client.send(data, sender=sender, message_type=message_type)
    except ProblemError as exc:  # the package cannot be built: retrying will not help
        error, final = f"{exc.title}: {exc.detail or ''} {exc.extra or ''}".strip(), True
    except (VxpError, httpx.HTTPError) as exc:
        error, final = f"{type(exc).__name__}: {exc}", False
    else:
        async with transaction(maker) as session:
            row = await session.get(ExchangeOutbox, row_id, with_for_update=True)
            if row is None or row.state != "pending":
                return "skip"
            await service.record_sent(
                session,
                await session.get(Directive, row.directive_id) if row.directive_id else None,
                kind=kind,
                data=data,
                sender_organ_id=sender,
                summary=summary,
                store=pdf.store,
                status_code=row.status_code,
            )
            row.hub_doc_id = hub_doc_id
            row.state, row.sent_at, row.attempts, row.last_error = "sent", now, row.attempts + 1, None
            return "sent"
    async with transaction(maker) as session:
        row = await session.get(ExchangeOutbox, row_id, with_for_update=True)
        if row is None or row.state != "pending":
            return "skip"
        row.attempts += 1
        row.last_error = error[:2000]
        if final or row.attempts >= settings.exchange.vxp.max_attempts:
            row.state = "dead"
            logger.warning("exchange package %s dead-lettered: %s", row.package_key, error)
            return "dead"
        row.next_attempt_at = now + _backoff(row.attempts)
        return "retry"


async def send_due(
    maker: async_sessionmaker[AsyncSession], client: VxpClient, pdf: PdfContext, *, now: datetime
) -> tuple[int, int]:
    """Send the due packages; (sent, failed)."""
    async with transaction(maker) as session:
        due = await repository.due_packages(session, now=now, limit=BATCH)
        for row in due:  # leased: another worker skips them while this one sends
            row.next_attempt_at = now + LEASE
        ids = [row.id for row in due]
    outcomes = [await _send_one(maker, row_id, client, pdf, now=now) for row_id in ids]
    return outcomes.count("sent"), outcomes.count("retry") + outcomes.count("dead")


async def apply_document(
    session: AsyncSession, item: Knobstick, raw: bytes, *, limits: ParseLimits, pdf: PdfContext, now: datetime
) -> None:
    """A document package from the hub: a reply when it answers a document of ours (``ResponseFor``),
    else a document sent to us (received.py), answered with our status packages."""
    package = parse_document_package(raw, limits=limits)
    for reference in package.header.response_for:
        if await service.find_directive(session, reference, pdf.settings) is not None:
            await service.apply_reply(session, package, raw, settings=pdf.settings, store=pdf.store, now=now)
            return
    await received.receive(
        session,
        package,
        raw,
        recipient_organ_id=item.recipient,
        hub_doc_id=item.doc_id,
        settings=pdf.settings,
        store=pdf.store,
        now=now,
    )


async def _limited(calls: list[Awaitable[T]], limit: asyncio.Semaphore | None = None) -> list[T | BaseException]:
    """The calls' results (or exceptions), at most :data:`IN_FLIGHT` at a time (or as many as
    ``limit``, shared with other calls, lets through)."""
    limit = limit or asyncio.Semaphore(IN_FLIGHT)

    async def one(call: Awaitable[T]) -> T:
        async with limit:
            return await call

    return await asyncio.gather(*(one(call) for call in calls), return_exceptions=True)


async def _apply_statuses(
    maker: async_sessionmaker[AsyncSession],
    items: list[tuple[Knobstick, bytes]],
    *,
    limits: ParseLimits,
    pdf: PdfContext,
    now: datetime,
) -> list[tuple[Knobstick, str]]:
    """Status packages applied in one transaction (service.apply_status_packages: a few statements
    for the batch); each item ``done`` or ``fail``. Should the batch fail as a whole, it is applied
    again one package at a time, each in its own savepoint, so that one package cannot hold back
    the others."""
    outcomes: list[tuple[Knobstick, str]] = []
    parsed: list[tuple[Knobstick, StatusPackage, bytes]] = []
    recall_requests: list[tuple[Knobstick, bytes]] = []
    for item, raw in items:
        try:
            package = parse_status_package(raw, limits=limits)
        except EdxmlError as exc:
            logger.warning("exchange package %s from %s refused: %s", item.doc_id, item.sender, exc)
            outcomes.append((item, "fail"))
            continue
        if package.status_code == StatusCode.RECALL_REQUEST.value:  # maybe about a document we received
            recall_requests.append((item, raw))
        else:
            parsed.append((item, package, raw))
    if recall_requests:
        outcomes += await _apply_one_by_one(maker, recall_requests, "status", limits=limits, pdf=pdf, now=now)
    if not parsed:
        return outcomes
    try:
        async with transaction(maker) as session:
            results = await service.apply_status_packages(
                session,
                [(package, raw) for _item, package, raw in parsed],
                settings=pdf.settings,
                store=pdf.store,
                now=now,
            )
    except Exception:
        logger.exception("a batch of %d status packages failed; applying them one by one", len(parsed))
        return outcomes + await _apply_one_by_one(
            maker, [(item, raw) for item, _package, raw in parsed], "status", limits=limits, pdf=pdf, now=now
        )
    for (item, _package, _raw), result in zip(parsed, results, strict=True):
        if isinstance(result, ProblemError):
            logger.warning("exchange package %s from %s refused: %s", item.doc_id, item.sender, result)
            outcomes.append((item, "fail"))
        else:
            outcomes.append((item, "done"))
    return outcomes


async def _apply_one_by_one(
    maker: async_sessionmaker[AsyncSession],
    items: list[tuple[Knobstick, bytes]],
    message_type: str,
    *,
    limits: ParseLimits,
    pdf: PdfContext,
    now: datetime,
) -> list[tuple[Knobstick, str]]:
    """Packages applied in one transaction, each in its own savepoint (one that cannot be applied
    spoils nothing else); each item ``done`` or ``fail``."""
    outcomes: list[tuple[Knobstick, str]] = []
    async with transaction(maker) as session:
        for item, raw in items:
            try:
                async with session.begin_nested():
                    if message_type == "status":
                        status = parse_status_package(raw, limits=limits)
                        # a recall request about a document we received, else a status of ours
                        if (
                            await received.apply_recall_request(session, status, raw, settings=pdf.settings, now=now)
                            is None
                        ):
                            await service.apply_status_package(
                                session, status, raw, settings=pdf.settings, store=pdf.store, now=now
                            )
                    else:
                        await apply_document(session, item, raw, limits=limits, pdf=pdf, now=now)
                outcomes.append((item, "done"))
            except (EdxmlError, ProblemError) as exc:
                logger.warning("exchange package %s from %s refused: %s", item.doc_id, item.sender, exc)
                outcomes.append((item, "fail"))
    return outcomes


async def _fetch(client: VxpClient, item: Knobstick, pdf: PdfContext) -> bytes:
    """``/getEdoc``; a document package then goes into the file store at once: the batch's
    transaction finds it there (storing is idempotent) instead of waiting for its writes and
    ``fsync``s. A package then refused leaves its file unreferenced, as a rolled-back transaction
    does. A status package is kept in the row that records it (service.apply_status_packages)."""
    raw = await client.fetch(item.doc_id)
    if item.message_type != "status":
        await pdf.store.put_async(raw)
    return raw


async def poll(
    maker: async_sessionmaker[AsyncSession], client: VxpClient, pdf: PdfContext, *, now: datetime
) -> tuple[int, int]:
    """Apply and acknowledge what waits at the hub; (applied, refused).

    Packages are fetched a few at a time (the protocol fetches one package a call) and applied in
    batches of :data:`POLL_BATCH`: status packages with a few statements per batch, documents each
    in its own savepoint. The next batch is fetched while one is applied, and a batch is
    acknowledged only after its transaction committed, while the next one is applied. One that
    could not be fetched is left at the hub for the next round; a batch that fails as a whole (the
    database) is acknowledged for none of its packages, which come back."""
    settings = pdf.settings
    limits = ParseLimits(max_bytes=settings.max_exchange_bytes, max_attachment_bytes=settings.max_exchange_bytes)
    applied = refused = 0
    acknowledging: list[asyncio.Future[list[BaseException | None]]] = []
    acknowledged: list[list[tuple[Knobstick, str]]] = []
    fetching: asyncio.Future[list[bytes | BaseException]] | None = None
    # One limit for every call of the round: fetches of the next batch and acknowledgements of
    # earlier ones overlap, and more connections would only make each request slower (the HTTP
    # client checks every pooled connection on each request).
    hub = asyncio.Semaphore(2 * IN_FLIGHT)
    try:
        for message_type in ("status", "edoc"):
            items = await client.received(message_type)
            batches = [items[start : start + POLL_BATCH] for start in range(0, len(items), POLL_BATCH)]
            fetching = (
                asyncio.ensure_future(_limited([_fetch(client, item, pdf) for item in batches[0]], hub))
                if batches
                else None
            )
            for number, batch in enumerate(batches):
                assert fetching is not None
                fetched = await fetching
                if number + 1 < len(batches):
                    fetching = asyncio.ensure_future(
                        _limited([_fetch(client, i, pdf) for i in batches[number + 1]], hub)
                    )
                ready: list[tuple[Knobstick, bytes]] = []
                for item, raw in zip(batch, fetched, strict=True):
                    if isinstance(raw, BaseException):
                        logger.warning("exchange package %s could not be fetched: %s", item.doc_id, raw)
                    else:
                        ready.append((item, raw))
                if message_type == "status":
                    outcomes = await _apply_statuses(maker, ready, limits=limits, pdf=pdf, now=now)
                else:
                    outcomes = await _apply_one_by_one(maker, ready, message_type, limits=limits, pdf=pdf, now=now)
                applied += sum(1 for _item, outcome in outcomes if outcome == "done")
                refused += sum(1 for _item, outcome in outcomes if outcome == "fail")
                acknowledged.append(outcomes)
                acknowledging.append(
                    asyncio.ensure_future(
                        _limited([client.acknowledge(i.doc_id, outcome) for i, outcome in outcomes], hub)
                    )
                )
    finally:
        if fetching is not None and not fetching.done():  # the round failed: what it fetched comes back
            fetching.cancel()
        for outcomes, results in zip(acknowledged, await asyncio.gather(*acknowledging), strict=True):
            for (item, _outcome), result in zip(outcomes, results, strict=True):
                if isinstance(result, BaseException):  # it comes back; applying it again changes nothing
                    logger.warning("exchange package %s not acknowledged: %s", item.doc_id, result)
    return applied, refused


async def step(maker: async_sessionmaker[AsyncSession], client: VxpClient, pdf: PdfContext, *, now: datetime) -> Round:
    """One round of the transport: enqueue, send what is due, poll the hub."""
    result = Round()
    async with transaction(maker) as session:
        result.enqueued = await enqueue(session, now=now)
    result.sent, result.failed = await send_due(maker, client, pdf, now=now)
    result.applied, result.refused = await poll(maker, client, pdf, now=now)
    return result
