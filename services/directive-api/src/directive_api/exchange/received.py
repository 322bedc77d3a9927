"""Documents that reach us over the exchange (văn bản đến), and the status packages we answer with.

QCVN 102:2016 asks the receiving system to tell the sender what became of its document, by status
packages about it (``ResponseFor`` = its DocumentId). We answer, each code once, in this order
(docs/exchange.md, "Status packages we send"):

========================================  =====================================================
what happens here                         status package sent back
========================================  =====================================================
the package is fetched from the hub       ``01`` đã đến (the system has it, no one acted yet)
report-api: ``obligation.acknowledged``   ``03`` tiếp nhận (registered as incoming, accepted)
report-api: ``obligation.submitted``      ``06`` hoàn thành (the unit did what was asked and
                                          reported)
report-api: ``obligation.accepted``       ``06`` (already sent at submission: nothing new)
========================================  =====================================================

A status that is not further along than the one already answered (status_order.py) is not sent:
the sender's view only moves forward, and each code leaves at most once (the outbox's
``package_key``). A received document with a ``DueDate`` becomes an obligation of the addressed
unit in report-api, through the ``directive.dispatched`` event report-api already reads; one
without is information only (no obligation, only ``01``). Revocations and updates of a received
document are recorded and answered ``01`` but not applied, as the vendors' systems do (a clerk
decides).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from common.edxml import (
    VIETNAM_TZ,
    BusinessDocType,
    DocumentPackage,
    Organization,
    ResponseFor,
    build_status_package,
    make_status_package,
)
from common.outbox import emit
from common.problems import ConflictError, NotFoundError, UnprocessableError
from common.storage import FileStore
from directive_api.deliveries.status_order import is_further_along
from directive_api.directives.models import Directive
from directive_api.events.models import OutboxEvent
from directive_api.exchange import repository, service, signing
from directive_api.exchange.models import ReceivedDocument, ReplyLink
from directive_api.orgs.models import Unit
from directive_api.settings import Settings

SOURCE = "directive-api"

COMPLIANCE_TO_STATUS = {
    "obligation.acknowledged": "03",
    "obligation.submitted": "06",
    "obligation.accepted": "06",
}
"""report-api's events about the obligation of a received document → the status we answer."""


class NotOurRecipientError(UnprocessableError):
    title = "The package is addressed to no unit of ours"


def _summary(received: ReceivedDocument) -> dict[str, object]:
    """The ``directive`` object of the events about a received document (as for our own documents,
    docs/events.md), so that report-api makes the addressed unit's obligation from it."""
    return {
        "id": str(received.id),
        "public_id": None,
        "doc_type": received.type_name,
        "notation": received.notation,
        "subject": received.subject,
        "issuer_code": received.sender_unit_code or received.sender_organ_id,
        "issued_on": received.promulgation_date.isoformat() if received.promulgation_date else None,
        "urgency": None,
        "status": "dispatched",
        "compliance": {"due_date": received.due_date.isoformat()} if received.due_date else None,
        "received_over_exchange": True,
    }


async def receive(
    session: AsyncSession,
    package: DocumentPackage,
    raw: bytes,
    *,
    recipient_organ_id: str,
    hub_doc_id: str | None,
    settings: Settings,
    store: FileStore,
    now: datetime,
) -> tuple[ReceivedDocument, bool]:
    """Record a document addressed to our unit ``recipient_organ_id`` (once per sender, DocumentId and
    business type), queue our ``01`` and, for a new or replacing document, tell report-api; the record
    and whether it is new."""
    header = package.header
    unit = await service.unit_for_organ(session, recipient_organ_id, settings)
    if unit is None or recipient_organ_id not in {r.organ_id for r in header.recipients}:
        raise NotOurRecipientError(f"{recipient_organ_id} is not one of our units among the package's recipients")
    signing.check_partner_signature(raw, header.sender.organ_id, settings)
    document_id = package.document_id
    if document_id is None:
        raise UnprocessableError("the package carries no DocumentId to answer")
    sender = await service.unit_for_organ(session, header.sender.organ_id, settings)
    stored = await store.put_async(raw)
    code = header.code
    kind = package.business_doc_type
    values = {
        "id": uuid.uuid4(),
        "sender_organ_id": header.sender.organ_id,
        "sender_name": header.sender.organ_name,
        "sender_unit_code": sender.code if sender else None,
        "unit_code": unit.code,
        "document_id": document_id,
        "business_doc_type": int(kind.value),
        "notation": f"{code.code_number}/{code.code_notation}" if code else None,
        "subject": header.subject or "",
        "type_name": header.document_type.type_name if header.document_type else None,
        "promulgation_date": header.promulgation_info.promulgation_date if header.promulgation_info else None,
        "due_date": header.due_date,
        "steering_type": header.steering_type,
        "sha256": stored.sha256,
        "size": stored.size,
        "hub_doc_id": hub_doc_id,
        "status": "01",
        "received_at": now,
    }
    fresh, received = await repository.receive_once(session, values)
    if not fresh:
        return received, False
    await _queue(session, received, "01", now=now)
    if kind in (BusinessDocType.NEW, BusinessDocType.REPLACE):
        emit(
            session,
            OutboxEvent,
            type="directive.dispatched",
            subject=str(received.id),
            data={
                "directive": _summary(received),
                "addressees": [
                    {"unit_code": unit.code, "unit_name": unit.name, "group_code": unit.group_code, "must_act": True}
                ],
                "information_recipients": [],
            },
            source=SOURCE,
            occurred_at=now,
        )
    await session.flush()
    return received, True


async def _queue(session: AsyncSession, received: ReceivedDocument, code: str, *, now: datetime) -> bool:
    return await repository.queue(
        session,
        {
            "package_key": f"status:{received.id}:{code}",
            "received_document_id": received.id,
            "kind": "status",
            "message_type": "status",
            "status_code": code,
            "next_attempt_at": now,
            "created_at": now,
        },
    )


async def answer(session: AsyncSession, received: ReceivedDocument, code: str, *, now: datetime) -> bool:
    """Queue our status ``code`` about a received document if it is further along than what we
    answered before; True when a package was queued."""
    if not is_further_along(code, received.status):
        return False
    received.status = code
    queued = await _queue(session, received, code, now=now)
    await session.flush()
    return queued


async def answer_compliance(
    session: AsyncSession, event_type: str, directive_id: uuid.UUID, unit_code: str, now: datetime
) -> bool:
    """A report-api event about the obligation of a document we received: answer the sender with the
    matching status (:data:`COMPLIANCE_TO_STATUS`); False when it is about none, or changes nothing."""
    code = COMPLIANCE_TO_STATUS.get(event_type)
    if code is None:
        return False
    received = await repository.received_for_update(session, directive_id, unit_code)
    if received is None:
        return False
    return await answer(session, received, code, now=now)


async def status_package(
    session: AsyncSession, received_id: uuid.UUID, code: str, *, at: datetime, settings: Settings
) -> tuple[bytes, Unit, str]:
    """Our status package ``code`` about a received document, stamped ``at`` (when it was decided),
    unsigned; the unit that answers and its organ id."""
    received = await session.get(ReceivedDocument, received_id)
    assert received is not None  # the outbox row's foreign key
    unit = await session.get(Unit, received.unit_code)
    assert unit is not None
    organ_id = service.organ_id_of(unit, settings)
    if organ_id is None:
        raise UnprocessableError(f"{unit.code} has no organ id to answer from")
    package = make_status_package(
        sender=Organization(organ_id=organ_id, organ_name=unit.name),
        document=ResponseFor(
            organ_id=received.sender_organ_id,
            code=received.notation,
            promulgation_date=received.promulgation_date,
            document_id=received.document_id,
        ),
        status_code=code,
        timestamp=at.astimezone(VIETNAM_TZ).replace(tzinfo=None),
    )
    return build_status_package(package), unit, organ_id


class ReceivedNotFoundError(NotFoundError):
    title = "Received document not found"


async def list_for(session: AsyncSession, actor: Principal, settings: Settings) -> list[ReceivedDocument]:
    """Received documents the caller may see: its unit's (the Office's admin and auditor: all)."""
    everyone = actor.unit == settings.office_unit_code and actor.has_any("admin", "auditor")
    return await repository.received_documents(session, None if everyone else [actor.unit or ""])


async def link_reply(
    session: AsyncSession, received_id: uuid.UUID, directive_id: uuid.UUID, *, actor: Principal, now: datetime
) -> ReplyLink:
    """Our document ``directive_id`` answers the received document: its packages carry ``ResponseFor``
    to it. Only the addressed unit's own documents, before they are dispatched."""
    received = await repository.received_for_update(session, received_id, actor.unit or "")
    if received is None:
        raise ReceivedNotFoundError(f"no received document {received_id} addressed to your unit")
    directive = await session.get(Directive, directive_id)
    if directive is None or directive.issuer_code != received.unit_code:
        raise UnprocessableError("the reply must be a document of the unit the received document is addressed to")
    if directive.dispatched_at is not None:
        raise ConflictError("the reply was dispatched already: link it before dispatching")
    link = await session.get(ReplyLink, directive.id)
    if link is None:
        link = ReplyLink(directive_id=directive.id, received_document_id=received.id, linked_by=actor.id, linked_at=now)
        session.add(link)
    elif link.received_document_id != received.id:
        raise ConflictError("the document already answers another received document")
    await session.flush()
    return link
