"""The exchange slice's SQL: rows that must be written once even when the same package arrives
concurrently, the lookups that apply incoming packages in bulk, and the transport's outbox."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utc_now
from directive_api.deliveries.models import Delivery, ExchangePackage
from directive_api.directives.models import Directive
from directive_api.exchange.models import (
    ExchangeOutbox,
    QuarantinedPackage,
    ReceivedChange,
    ReceivedDocument,
    ReplyLink,
)
from directive_api.orgs.models import Unit
from directive_api.pdfs.models import DirectiveFile


async def _insert_once(session: AsyncSession, model: Any, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row is new."""
    table = model.__table__
    dialect = session.get_bind().dialect.name
    statement: Any = (postgresql if dialect == "postgresql" else sqlite).insert(table).values(**values)
    result = await session.execute(statement.on_conflict_do_nothing())
    return bool(getattr(result, "rowcount", 0) == 1)


async def record_incoming(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Keep an incoming package about a document; False if it was recorded before (same ``dedupe_key``)."""
    return await _insert_once(session, ExchangePackage, {"direction": "in", **values})


async def incoming_id(session: AsyncSession, dedupe_key: str) -> int:
    found = await session.scalar(select(ExchangePackage.id).where(ExchangePackage.dedupe_key == dedupe_key))
    assert found is not None
    return found


async def quarantine(session: AsyncSession, values: dict[str, Any]) -> QuarantinedPackage:
    """The quarantined package with these bytes, kept on first arrival."""
    await _insert_once(session, QuarantinedPackage, {"state": "pending", **values})
    record = await session.scalar(select(QuarantinedPackage).where(QuarantinedPackage.sha256 == values["sha256"]))
    assert record is not None
    return record


async def queue(session: AsyncSession, values: dict[str, Any]) -> bool:
    """An outbox row for the exchange transport, once per ``package_key``; True when new."""
    return await _insert_once(
        session, ExchangeOutbox, {"state": "pending", "attempts": 0, "next_attempt_at": utc_now(), **values}
    )


async def receive_once(session: AsyncSession, values: dict[str, Any]) -> tuple[bool, ReceivedDocument]:
    """The received document with this sender, DocumentId and business type, kept on first arrival;
    True when it is new."""
    fresh = await _insert_once(session, ReceivedDocument, values)
    record = await session.scalar(
        select(ReceivedDocument)
        .where(
            ReceivedDocument.sender_organ_id == values["sender_organ_id"],
            ReceivedDocument.document_id == values["document_id"],
            ReceivedDocument.business_doc_type == values["business_doc_type"],
        )
        .with_for_update()
    )
    assert record is not None
    return fresh, record


async def received_for_update(session: AsyncSession, received_id: uuid.UUID, unit_code: str) -> ReceivedDocument | None:
    """The received document addressed to ``unit_code``, locked (its answers are decided in turn)."""
    statement = select(ReceivedDocument).where(
        ReceivedDocument.id == received_id, ReceivedDocument.unit_code == unit_code
    )
    return await session.scalar(statement.with_for_update())


TARGET_TYPES = (0, 3)
"""The business types a change can be about: new and replacing documents, not change packages."""


async def received_targets(
    session: AsyncSession,
    sender_organ_id: str,
    document_ids: list[str],
    unit_code: str | None,
    *,
    exclude: uuid.UUID | None,
) -> list[ReceivedDocument]:
    """The documents (new or replacing, not change packages) this sender sent us with these DocumentIds
    (to ``unit_code`` when given), locked: the change a later package asks for is labelled on them."""
    if not document_ids:
        return []
    statement = select(ReceivedDocument).where(
        ReceivedDocument.sender_organ_id == sender_organ_id,
        ReceivedDocument.document_id.in_(document_ids),
        ReceivedDocument.business_doc_type.in_(TARGET_TYPES),
    )
    if unit_code is not None:
        statement = statement.where(ReceivedDocument.unit_code == unit_code)
    if exclude is not None:
        statement = statement.where(ReceivedDocument.id != exclude)
    return list((await session.scalars(statement.order_by(ReceivedDocument.received_at).with_for_update())).all())


async def received_documents(session: AsyncSession, unit_codes: list[str] | None) -> list[ReceivedDocument]:
    """Received documents, newest first (of these units when given)."""
    statement = select(ReceivedDocument).order_by(ReceivedDocument.received_at.desc()).limit(500)
    if unit_codes is not None:
        statement = statement.where(ReceivedDocument.unit_code.in_(unit_codes))
    return list((await session.scalars(statement)).all())


async def received_visible(
    session: AsyncSession, received_id: uuid.UUID, unit_code: str | None
) -> ReceivedDocument | None:
    """The received document, if it is addressed to ``unit_code`` (any unit when None)."""
    statement = select(ReceivedDocument).where(ReceivedDocument.id == received_id)
    if unit_code is not None:
        statement = statement.where(ReceivedDocument.unit_code == unit_code)
    return await session.scalar(statement)


async def linked_reply(session: AsyncSession, package_id: int) -> tuple[ExchangePackage, Delivery] | None:
    """A reply package we received and the delivery it is linked to."""
    statement = (
        select(ExchangePackage, Delivery)
        .join(Delivery, Delivery.reply_package_id == ExchangePackage.id)
        .where(ExchangePackage.id == package_id, ExchangePackage.kind == "reply", ExchangePackage.direction == "in")
    )
    found = (await session.execute(statement.limit(1))).one_or_none()
    return None if found is None else (found[0], found[1])


async def reply_link(session: AsyncSession, directive_id: uuid.UUID) -> ReceivedDocument | None:
    """The received document our document answers, if it answers one."""
    statement = select(ReceivedDocument).join(ReplyLink, ReplyLink.received_document_id == ReceivedDocument.id)
    return await session.scalar(statement.where(ReplyLink.directive_id == directive_id))


async def record_incoming_many(session: AsyncSession, rows: list[dict[str, Any]]) -> set[str]:
    """Keep incoming packages about documents in one statement; the ``dedupe_key`` of those that are
    new (a key recorded before, or twice in ``rows``, is kept once)."""
    if not rows:
        return set()
    table = ExchangePackage.__table__
    dialect = session.get_bind().dialect.name
    statement: Any = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    statement = statement.values([{"direction": "in", **row} for row in rows]).on_conflict_do_nothing()
    return set((await session.execute(statement.returning(table.c.dedupe_key))).scalars())


async def units_for_organs(session: AsyncSession, organ_ids: set[str], configured: dict[str, str]) -> dict[str, Unit]:
    """The directory units these exchange identifiers belong to (the directory's ``organ_id``, else
    the unit code configured for it in ``configured``: unit code → organ id)."""
    codes = [code for code, organ in configured.items() if organ in organ_ids]
    if not organ_ids:
        return {}
    units = await session.scalars(select(Unit).where(or_(Unit.organ_id.in_(organ_ids), Unit.code.in_(codes))))
    found: dict[str, Unit] = {}
    for unit in units:
        for organ in (unit.organ_id, configured.get(unit.code)):
            if organ in organ_ids:
                found.setdefault(organ, unit)
    return found


async def directives_by_notation(
    session: AsyncSession, notation: str, promulgated: date | None
) -> list[tuple[Directive, Unit]]:
    """Our documents with this number/notation (issued that day, when given), oldest first, each
    with its issuer (whose organ id tells two issuers' 01/… apart)."""
    statement = (
        select(Directive, Unit)
        .join(Unit, Unit.code == Directive.issuer_code)
        .where(Directive.notation == notation)
        .order_by(Directive.issued_on, Directive.created_at)
        .limit(50)
    )
    if promulgated is not None:
        statement = statement.where(Directive.issued_on == promulgated)
    return [(directive, issuer) for directive, issuer in (await session.execute(statement)).all()]


async def deliveries_for_update(session: AsyncSession, directive_id: uuid.UUID, unit_codes: set[str]) -> list[Delivery]:
    """The document's deliveries to these units, locked in id order (packages about one delivery
    applied concurrently take turns; one order, so two batches cannot deadlock)."""
    statement = (
        select(Delivery)
        .where(Delivery.directive_id == directive_id, Delivery.unit_code.in_(unit_codes))
        .order_by(Delivery.id)
        .with_for_update()
    )
    return list((await session.scalars(statement)).all())


async def issued_page_count(session: AsyncSession, directive: Directive) -> int | None:
    """The page count of the document's issued PDF."""
    return await session.scalar(
        select(DirectiveFile.page_count).where(
            DirectiveFile.directive_id == directive.id, DirectiveFile.sha256 == directive.issued_sha256
        )
    )


# --- the transport's outbox ------------------------------------------------------------------------

SENT_KINDS = ("document", "update", "replacement")


async def dispatched_unqueued(session: AsyncSession, limit: int) -> list[tuple[uuid.UUID, str]]:
    """Dispatched documents with a delivery on the ``edxml`` channel and no package queued yet,
    oldest first (a letter before its correction), with the kind of package each leaves as
    (``update`` for a đính chính, ``replacement`` for a replacing document). A recalled or replaced
    document never sent gets nothing: there is nothing to take back."""
    queued = select(ExchangeOutbox.directive_id).where(ExchangeOutbox.kind.in_(SENT_KINDS))
    rows = await session.execute(
        select(Directive.id, Directive.corrects_id, Directive.replaces_id)
        .where(Directive.dispatched_at.is_not(None), Directive.id.not_in(queued))
        .where(Directive.status.not_in(("recalled", "replaced")))
        .where(select(Delivery.id).where(Delivery.directive_id == Directive.id, Delivery.channel == "edxml").exists())
        .order_by(Directive.dispatched_at, Directive.created_at)
        .limit(limit)
    )
    return [
        (directive_id, "update" if corrects else "replacement" if replaces else "document")
        for directive_id, corrects, replaces in rows.all()
    ]


async def declared_replacements(session: AsyncSession) -> list[uuid.UUID]:
    """Documents sent as new ones, then named the replacement of another (a replacement package is due)."""
    sent = select(ExchangeOutbox.directive_id).where(
        ExchangeOutbox.kind.in_(SENT_KINDS), ExchangeOutbox.state == "sent"
    )
    replacing = select(ExchangeOutbox.directive_id).where(ExchangeOutbox.kind == "replacement")
    found = await session.scalars(
        select(Directive.id).where(
            Directive.replaces_id.is_not(None), Directive.id.in_(sent), Directive.id.not_in(replacing)
        )
    )
    return list(found.all())


async def recalled_sent(session: AsyncSession) -> list[uuid.UUID]:
    """Recalled documents that were sent and have no revocation package queued."""
    sent = select(ExchangeOutbox.directive_id).where(
        ExchangeOutbox.kind.in_(SENT_KINDS), ExchangeOutbox.state == "sent"
    )
    revoked = select(ExchangeOutbox.directive_id).where(ExchangeOutbox.kind == "revocation")
    found = await session.scalars(
        select(Directive.id).where(Directive.status == "recalled", Directive.id.in_(sent), Directive.id.not_in(revoked))
    )
    return list(found.all())


async def queue_many(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Outbox rows, each once per ``package_key``; how many are new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(ExchangeOutbox.__table__)
    result = await session.execute(insert.on_conflict_do_nothing(), rows)
    return max(0, int(getattr(result, "rowcount", 0) or 0))


async def due_packages(session: AsyncSession, *, now: datetime, limit: int) -> list[ExchangeOutbox]:
    """Pending outbox rows due now, oldest first, locked; rows another worker holds are skipped."""
    statement = (
        select(ExchangeOutbox)
        .where(ExchangeOutbox.state == "pending", ExchangeOutbox.next_attempt_at <= now)
        .order_by(ExchangeOutbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(statement)).all())


async def quarantined(
    session: AsyncSession, *, state: str | None, sender_organ_id: str | None = None
) -> list[QuarantinedPackage]:
    """Quarantined packages in arrival order (in this state, from this sender, when given)."""
    statement = select(QuarantinedPackage).order_by(QuarantinedPackage.id)
    if state is not None:
        statement = statement.where(QuarantinedPackage.state == state)
    if sender_organ_id is not None:
        statement = statement.where(QuarantinedPackage.sender_organ_id == sender_organ_id)
    return list((await session.scalars(statement)).all())


async def unit_with_organ_id(session: AsyncSession, organ_id: str) -> Unit | None:
    """The directory unit that has this exchange identifier."""
    return await session.scalar(select(Unit).where(Unit.organ_id == organ_id))


# --- received documents (received.py) ---------------------------------------------------------------


async def received_with_unit(session: AsyncSession, received_id: uuid.UUID) -> tuple[ReceivedDocument, Unit] | None:
    """A received document and the unit of ours it is addressed to (which answers it)."""
    statement = (
        select(ReceivedDocument, Unit)
        .join(Unit, Unit.code == ReceivedDocument.unit_code)
        .where(ReceivedDocument.id == received_id)
    )
    found = (await session.execute(statement)).one_or_none()
    return None if found is None else (found[0], found[1])


async def received_document(session: AsyncSession, received_id: uuid.UUID) -> ReceivedDocument | None:
    return await session.scalar(select(ReceivedDocument).where(ReceivedDocument.id == received_id))


async def unit_directive_for_update(session: AsyncSession, directive_id: uuid.UUID, unit_code: str) -> Directive | None:
    """The unit's own document (it issues it), locked: it is about to be linked as a reply."""
    statement = select(Directive).where(Directive.id == directive_id, Directive.issuer_code == unit_code)
    return await session.scalar(statement.with_for_update())


async def reply_link_of(session: AsyncSession, directive_id: uuid.UUID) -> ReplyLink | None:
    """The link that makes our document the reply to a received one, if it has one."""
    return await session.scalar(select(ReplyLink).where(ReplyLink.directive_id == directive_id))


async def add_reply_link(session: AsyncSession, values: dict[str, Any]) -> ReplyLink:
    link = ReplyLink(**values)
    session.add(link)
    await session.flush()
    return link


async def record_change(session: AsyncSession, values: dict[str, Any]) -> bool:
    """A change its sender asked for about a document, once per (sender, changed DocumentId, request);
    True when it is new."""
    return await _insert_once(session, ReceivedChange, {"state": "pending", **values})


async def attach_waiting_changes(session: AsyncSession, received: ReceivedDocument) -> int:
    """The changes that arrived before this document (its sender, its DocumentId, for its unit or any)
    now label it; how many."""
    statement = (
        update(ReceivedChange)
        .where(
            ReceivedChange.sender_organ_id == received.sender_organ_id,
            ReceivedChange.target_document_id == received.document_id,
            ReceivedChange.received_document_id.is_(None),
            or_(ReceivedChange.unit_code.is_(None), ReceivedChange.unit_code == received.unit_code),
            or_(ReceivedChange.package_id.is_(None), ReceivedChange.package_id != received.id),
        )
        .values(received_document_id=received.id)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def _waits_for(change: ReceivedChange, document: ReceivedDocument) -> bool:
    """A change kept before its document reached us is about this document (as
    :func:`attach_waiting_changes` matches it)."""
    return (
        change.received_document_id is None
        and document.business_doc_type in TARGET_TYPES
        and (change.sender_organ_id, change.target_document_id) == (document.sender_organ_id, document.document_id)
        and change.unit_code in (None, document.unit_code)
        and change.package_id != document.id
    )


async def changes_of(
    session: AsyncSession, documents: list[ReceivedDocument], *, lock: bool = False
) -> dict[uuid.UUID, list[ReceivedChange]]:
    """The changes asked about each of these received documents, in arrival order (locked when
    ``lock``: they are answered in turn). Those that came before their document count as soon as it
    is here, whether or not :func:`attach_waiting_changes` has marked them yet (a change and its
    document applied concurrently each miss the other's uncommitted row)."""
    found: dict[uuid.UUID, list[ReceivedChange]] = {document.id: [] for document in documents}
    if not documents:
        return found
    awaited = {d.document_id for d in documents if d.business_doc_type in TARGET_TYPES}
    statement = (
        select(ReceivedChange)
        .where(
            or_(
                ReceivedChange.received_document_id.in_(list(found)),
                and_(
                    ReceivedChange.received_document_id.is_(None),
                    ReceivedChange.target_document_id.in_(sorted(awaited)),
                ),
            )
        )
        .order_by(ReceivedChange.id)
    )
    for change in await session.scalars(statement.with_for_update() if lock else statement):
        if change.received_document_id is not None:
            found[change.received_document_id].append(change)
            continue
        for document in documents:
            if _waits_for(change, document):
                found[document.id].append(change)
    return found
