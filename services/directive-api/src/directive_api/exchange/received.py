"""Documents that reach us over the exchange (văn bản đến), and the status packages we answer with.

QCVN 102:2016 asks the receiving system to tell the sender what became of its document, by status
packages about it (``ResponseFor`` = its DocumentId). We answer each code once, never going back
(docs/exchange.md, "Status packages we send"):

=============================================  ================================================
what happens here                              status package sent back
=============================================  ================================================
the package is fetched from the hub            ``01`` đã đến (the system has it, no one acted yet)
the clerk refuses it, with a reason            ``02`` từ chối (only before ``03``; final)
the clerk registers it, or report-api:         ``03`` tiếp nhận (registered as incoming)
``obligation.acknowledged``
the clerk records the leader's assignment      ``04`` phân công xử lý
the handler records it is being processed      ``05`` đang xử lý
the clerk closes it, or report-api:            ``06`` hoàn thành
``obligation.submitted`` / ``accepted``
the clerk agrees to / refuses a change its     ``15`` / ``16`` (about the changed document)
sender asked (update, replacement, recall)
=============================================  ================================================

The lattice is 01 → 02 (final) or 01 → 03 → 04 → 05 → 06: a code below the one answered, a refusal
after registration, anything after a refusal or an agreed recall is refused to a person (409) and
ignored for report-api's events (they arrive late and twice); the same code again changes nothing.
A received document with a ``DueDate`` becomes an obligation of the addressed unit in report-api,
through the ``directive.dispatched`` event report-api already reads; one without is information only.

Update, replacing and revocation packages (``BussinessDocType`` 2, 3, 1) and recall requests (status
``13``) about a document we received are kept (``received_changes``, every one) and labelled on it, not
applied: the addressed unit's clerk agrees (``15``; an agreed recall marks it recalled and closes its
obligation) or refuses (``16``) each one, as the vendors' systems do. The exchange does not guarantee
order: a change that arrives before its document waits for it and labels it on arrival.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from common.edxml import (
    STATUS_DESCRIPTIONS,
    VIETNAM_TZ,
    Attachment,
    BusinessDocType,
    DocumentPackage,
    Organization,
    ParseLimits,
    ResponseFor,
    StatusCode,
    StatusPackage,
    build_status_package,
    make_status_package,
    parse_document_package,
)
from common.problems import ConflictError, ForbiddenError, NotFoundError, UnprocessableError
from common.storage import FileStore
from directive_api.deliveries import service as deliveries
from directive_api.deliveries.models import ExchangePackage
from directive_api.events.service import emit_received_event
from directive_api.exchange import repository, service, signing
from directive_api.exchange.models import ReceivedChange, ReceivedDocument, ReplyLink
from directive_api.orgs.models import Unit
from directive_api.settings import Settings

COMPLIANCE_TO_STATUS = {
    "obligation.acknowledged": "03",
    "obligation.submitted": "06",
    "obligation.accepted": "06",
}
"""report-api's events about the obligation of a received document → the status we answer."""


REPORT_API_ACTOR = "report-api"
"""``status_by`` of an answer that report-api's events made (the unit's acknowledgement or report)."""


STAGE = {"01": 1, "02": 2, "03": 2, "04": 3, "05": 4, "06": 5}
"""The order of our answers about a received document (02 and 03 are alternatives after 01)."""

ACTION_ROLES: dict[str, tuple[str, ...]] = {
    "02": ("clerk",),
    "03": ("clerk",),
    "04": ("clerk", "signer", "monitor"),
    "05": ("clerk", "drafter", "monitor"),
    "06": ("clerk", "monitor"),
}
"""Who of the addressed unit may answer each code: the registry (văn thư) refuses and registers; the
assignment is the leader's (recorded by the clerk, a signer or the follow-up officer); the handler
(drafter) or the follow-up officer says it is being processed; the clerk or the follow-up officer
closes it."""


class NotOurRecipientError(UnprocessableError):
    title = "The package is addressed to no unit of ours"


class StatusTransitionError(ConflictError):
    title = "That status cannot follow what was answered"


class NoChangeRequestedError(ConflictError):
    title = "No update, replacement or recall was asked for this document"


def _transition_problem(received: ReceivedDocument, code: str) -> str | None:
    """Why ``code`` may not follow what we answered about ``received`` (None: it may)."""
    if received.recalled_at is not None:
        return "its sender recalled the document and the recall was agreed: nothing more is answered about it"
    if received.status == "02":
        return "the document was refused (02): nothing more is answered about it"
    if code == "02" and received.status != "01":
        return f"a document is refused (02) only before it is registered; {received.status} was answered"
    if STAGE[code] < STAGE[received.status]:
        return f"{code} would go back: {received.status} was answered already"
    return None


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
    if kind is not BusinessDocType.NEW:
        await _label_changed(session, package, received, now=now)
    if kind in (BusinessDocType.NEW, BusinessDocType.REPLACE):  # a revocation or recall may have come first
        await repository.attach_waiting_changes(session, received)
    if kind in (BusinessDocType.NEW, BusinessDocType.REPLACE):
        emit_received_event(
            session,
            "directive.dispatched",
            received.id,
            unit_code=received.unit_code,
            data={
                "directive": _summary(received),
                "addressees": [
                    {"unit_code": unit.code, "unit_name": unit.name, "group_code": unit.group_code, "must_act": True}
                ],
                "information_recipients": [],
            },
            occurred_at=now,
        )
    await session.flush()
    return received, True


async def _queue(
    session: AsyncSession,
    received: ReceivedDocument,
    code: str,
    *,
    now: datetime,
    description: str | None = None,
    change_key: str | None = None,
) -> bool:
    # 15/16 answer one change: a document may be updated, then recalled, each answered on its own.
    key = f"status:{received.id}:{code}" + (f":{change_key}" if change_key else "")
    return await repository.queue(
        session,
        {
            "package_key": key[:200],
            "received_document_id": received.id,
            "kind": "status",
            "message_type": "status",
            "status_code": code,
            "description": description,
            "next_attempt_at": now,
            "created_at": now,
        },
    )


def _description(code: str, reason: str | None) -> str | None:
    """The standard wording of ``code`` followed by the person's reason, if one was given."""
    if not reason:
        return None
    return f"{STATUS_DESCRIPTIONS[StatusCode(code)]}: {reason}"


async def answer(session: AsyncSession, received: ReceivedDocument, code: str, *, now: datetime) -> bool:
    """Queue our status ``code`` about a received document (report-api's events) if it may follow what
    we answered before; True when a package was queued. Late or repeated events change nothing."""
    if code == received.status or _transition_problem(received, code) is not None:
        return False
    # report-api's obligation events name no person: the answer is recorded as report-api's, so the
    # list never shows the person and time of an earlier answer for this one.
    received.status, received.status_reason, received.status_by, received.status_at = code, None, REPORT_API_ACTOR, now
    queued = await _queue(session, received, code, now=now)
    await session.flush()
    return queued


def _announce_withdrawn(session: AsyncSession, received: ReceivedDocument, reason: str, now: datetime) -> None:
    """report-api closes the addressed unit's obligation: the document was refused or recalled."""
    emit_received_event(
        session,
        "directive.recalled",
        received.id,
        unit_code=received.unit_code,
        data={"directive": {**_summary(received), "status": "recalled"}, "reason": reason},
        occurred_at=now,
    )


def _announce_answered(session: AsyncSession, received: ReceivedDocument, *, actor_id: str, now: datetime) -> None:
    """report-api acknowledges the addressed unit's obligation when its clerk registered the document
    here (03, or a later answer): the unit's delivery of it moved, as ``delivery.status_changed`` says
    of our own deliveries. Not for report-api's own events (:func:`answer`): it knows already."""
    emit_received_event(
        session,
        "delivery.status_changed",
        received.id,
        unit_code=received.unit_code,
        data={
            "directive": _summary(received),
            "unit_code": received.unit_code,
            "status": received.status,
            "reason": received.status_reason,
            "at": now.isoformat(),
            "source": "received",
            "by": actor_id,
        },
        occurred_at=now,
    )


async def act(
    session: AsyncSession,
    received_id: uuid.UUID,
    code: str,
    reason: str | None,
    *,
    actor: Principal,
    now: datetime,
) -> tuple[Labelled, bool]:
    """A person of the addressed unit answers the sender with ``code`` (02 … 06); the record (with the
    changes asked about it) and whether a status package was queued (the same code again: nothing new)."""
    if not actor.has_any(*ACTION_ROLES[code]):
        raise ForbiddenError(f"{code} is answered by the addressed unit's {' or '.join(ACTION_ROLES[code])}")
    received = await repository.received_for_update(session, received_id, actor.unit or "")
    if received is None:
        raise ReceivedNotFoundError(f"no received document {received_id} addressed to your unit")
    if code == received.status:
        return (await labelled(session, [received]))[0], False
    problem = _transition_problem(received, code)
    if problem is None and code in ("04", "05", "06") and received.status == "01":
        problem = "register the document (03) before it is assigned, processed or closed"
    if problem is not None:
        raise StatusTransitionError(problem, answered=received.status)
    if code == "02" and not (reason or "").strip():
        raise UnprocessableError("a refusal (02) needs a reason: the sender is told why")
    received.status, received.status_reason, received.status_by, received.status_at = code, reason, actor.id, now
    queued = await _queue(session, received, code, now=now, description=_description(code, reason))
    if code == "02":
        _announce_withdrawn(session, received, f"Từ chối tiếp nhận: {reason}", now)
    else:
        _announce_answered(session, received, actor_id=actor.id, now=now)
    await session.flush()
    return (await labelled(session, [received]))[0], queued


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
    session: AsyncSession,
    received_id: uuid.UUID,
    code: str,
    *,
    at: datetime,
    settings: Settings,
    description: str | None = None,
) -> tuple[bytes, Unit, str]:
    """Our status package ``code`` about a received document, stamped ``at`` (when it was decided),
    with ``description`` (else the code's standard wording), unsigned; the unit that answers and its
    organ id."""
    found = await repository.received_with_unit(session, received_id)
    assert found is not None  # the outbox row's foreign key
    received, unit = found
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
        description=description,
        timestamp=at.astimezone(VIETNAM_TZ).replace(tzinfo=None),
    )
    return build_status_package(package), unit, organ_id


CHANGE_OF = {BusinessDocType.UPDATE: "update", BusinessDocType.REPLACE: "replace", BusinessDocType.REVOKE: "revoke"}


@dataclass(frozen=True)
class Labelled:
    """A received document and every change its sender asked about it, in arrival order."""

    document: ReceivedDocument
    changes: list[ReceivedChange]

    @property
    def current(self) -> ReceivedChange | None:
        """The change shown on the document: the latest one waiting for an answer, else the latest."""
        pending = [change for change in self.changes if change.state == "pending"]
        shown = pending or self.changes
        return shown[-1] if shown else None


def _changed_documents(package: DocumentPackage) -> list[str]:
    """The DocumentIds an update, replacing or revocation package changes: ``Bussiness/DocumentId``
    (revocation, update) and each ``ReplacementInfo`` (replacement, đính chính); else its own id (an
    update with the original's DocumentId)."""
    business = package.trace_header_list.business
    found = [business.document_id] if business and business.document_id else []
    found += [info.document_id for info in (business.replacement_info_list if business else ()) if info.document_id]
    if not found and package.document_id:
        found.append(package.document_id)
    return list(dict.fromkeys(found))


async def _request_change(
    session: AsyncSession,
    *,
    sender_organ_id: str,
    document_ids: list[str],
    unit_code: str | None,
    kind: str,
    key: str,
    reason: str | None,
    package_id: uuid.UUID | None,
    now: datetime,
) -> tuple[list[ReceivedDocument], list[str]]:
    """Keep a change the sender asked for, once per request and changed DocumentId: on the document
    it names when that has reached us (to ``unit_code`` when given), else waiting for it (the exchange
    does not guarantee order; :func:`receive` labels the document when it comes). The documents found
    (one already recalled gets nothing: nothing more is answered about it), and the DocumentIds waited for."""
    targets = await repository.received_targets(session, sender_organ_id, document_ids, unit_code, exclude=package_id)
    waiting: list[str] = []
    for document_id in document_ids:
        target = next((t for t in targets if t.document_id == document_id), None)
        if target is not None and target.recalled_at is not None:
            continue
        if target is None:
            waiting.append(document_id)
        await repository.record_change(
            session,
            {
                "sender_organ_id": sender_organ_id,
                "target_document_id": document_id,
                "unit_code": unit_code,
                "received_document_id": target.id if target else None,
                "kind": kind,
                "change_key": key,
                "reason": reason,
                "package_id": package_id,
                "requested_at": now,
            },
        )
    return targets, waiting


async def _label_changed(
    session: AsyncSession, package: DocumentPackage, changing: ReceivedDocument, *, now: datetime
) -> None:
    """Keep the change an update, replacing or revocation package asks for the documents it names."""
    business = package.trace_header_list.business
    await _request_change(
        session,
        sender_organ_id=changing.sender_organ_id,
        document_ids=_changed_documents(package),
        unit_code=changing.unit_code,
        kind=CHANGE_OF[package.business_doc_type],
        key=str(changing.id),
        reason=business.business_doc_reason if business else None,
        package_id=changing.id,
        now=now,
    )


@dataclass(frozen=True)
class RecallRequest:
    """What a recall request about documents sent to us did."""

    labelled: list[ReceivedDocument]
    """The received documents it is about."""
    waiting_for: list[str]
    """The DocumentIds it names that have not reached us: it labels them when they arrive."""


async def apply_recall_request(
    session: AsyncSession, package: StatusPackage, raw: bytes, *, settings: Settings, now: datetime
) -> RecallRequest | None:
    """A status package ``13`` (yêu cầu lấy lại) by the sender of documents sent to us: kept for the
    clerk to answer, on the documents it names or until they arrive; None when it is about one of our
    own documents (then it is a status about one of ours) or names no DocumentId."""
    if package.status_code != StatusCode.RECALL_REQUEST.value:
        return None
    document_ids = list(dict.fromkeys(r.document_id for r in package.response_for if r.document_id))
    if not document_ids:
        return None
    sender = package.sender.organ_id
    if not await repository.received_targets(session, sender, document_ids, None, exclude=None):
        for reference in package.response_for:
            if await service.find_directive(session, reference, settings) is not None:
                return None
    signing.check_partner_signature(raw, sender, settings)
    stamp = package.timestamp.isoformat() if package.timestamp else ""
    key = "recall:" + hashlib.sha256(f"{stamp}\x1f{package.description or ''}".encode()).hexdigest()[:40]
    targets, waiting = await _request_change(
        session,
        sender_organ_id=sender,
        document_ids=document_ids,
        unit_code=None,
        kind="recall",
        key=key,
        reason=package.description,
        package_id=None,
        now=now,
    )
    await session.flush()
    return RecallRequest(labelled=targets, waiting_for=waiting)


def _chosen(changes: list[ReceivedChange], change_id: int | None) -> ReceivedChange:
    """The change a clerk answers: the one named, else the only one waiting for an answer, else (the
    same answer again) the latest."""
    if not changes:
        raise NoChangeRequestedError("its sender asked for no update, replacement or recall")
    if change_id is not None:
        for change in changes:
            if change.id == change_id:
                return change
        raise ReceivedChangeNotFoundError(f"no change {change_id} was asked about this document")
    pending = [change for change in changes if change.state == "pending"]
    if len(pending) > 1:
        raise ChangeNotNamedError(
            "several changes wait for an answer: name one with change_id", pending=[c.id for c in pending]
        )
    return (pending or changes)[-1]


async def answer_change(
    session: AsyncSession,
    received_id: uuid.UUID,
    agree: bool,
    reason: str | None,
    *,
    change_id: int | None = None,
    actor: Principal,
    now: datetime,
) -> tuple[Labelled, bool]:
    """The addressed unit's clerk agrees (15) or refuses (16) a change the sender asked for (``change_id``,
    or the only one waiting); the document with its changes and whether a status package was queued
    (the same answer again: nothing new). An agreed recall or revocation marks the document recalled and
    closes its obligation in report-api; an agreed replacement closes it in favour of the replacing
    document's."""
    received = await repository.received_for_update(session, received_id, actor.unit or "")
    if received is None:
        raise ReceivedNotFoundError(f"no received document {received_id} addressed to your unit")
    changes = (await repository.changes_of(session, [received], lock=True))[received.id]
    change = _chosen(changes, change_id)
    wanted = "agreed" if agree else "refused"
    if change.state == wanted:
        return Labelled(received, changes), False
    if change.state != "pending":
        raise StatusTransitionError(f"the {change.kind} was {change.state} already", answered=change.state)
    if received.recalled_at is not None:
        raise StatusTransitionError(
            "its sender took the document back and the recall was agreed: nothing more is answered about it",
            answered="recalled",
        )
    code = "15" if agree else "16"
    change.received_document_id = received.id  # one that came first, marked now if not yet
    change.state, change.answer_reason, change.answered_by, change.answered_at = wanted, reason, actor.id, now
    queued = await _queue(
        session, received, code, now=now, description=_description(code, reason), change_key=change.change_key
    )
    if agree and change.kind in ("revoke", "recall"):
        received.recalled_at = now
        _announce_withdrawn(session, received, change.reason or "Thu hồi văn bản", now)
    elif agree and change.kind == "replace" and change.package_id is not None:
        successor = await repository.received_document(session, change.package_id)
        assert successor is not None  # a foreign key
        emit_received_event(
            session,
            "directive.replaced",
            received.id,
            unit_code=received.unit_code,
            data={"directive": {**_summary(received), "status": "replaced"}, "replaced_by": _summary(successor)},
            occurred_at=now,
        )
    await session.flush()
    return Labelled(received, changes), queued


class ReceivedNotFoundError(NotFoundError):
    title = "Received document not found"


class ReceivedChangeNotFoundError(NotFoundError):
    title = "No such change was asked about the document"


class ChangeNotNamedError(ConflictError):
    title = "Several changes wait for an answer: name one"


async def labelled(session: AsyncSession, documents: list[ReceivedDocument]) -> list[Labelled]:
    """The documents with the changes asked about each."""
    changes = await repository.changes_of(session, documents)
    return [Labelled(document, changes[document.id]) for document in documents]


async def list_for(session: AsyncSession, actor: Principal, settings: Settings) -> list[Labelled]:
    """Received documents the caller may see: its unit's (the Office's admin and auditor: all)."""
    unit = _readable_unit(actor, settings)
    return await labelled(session, await repository.received_documents(session, None if unit is None else [unit]))


def _readable_unit(actor: Principal, settings: Settings) -> str | None:
    """The unit whose received documents the caller reads: its own; None (every unit's) for the
    Office's admin and auditor."""
    if actor.unit == settings.office_unit_code and actor.has_any("admin", "auditor"):
        return None
    return actor.unit or ""


async def link_reply(
    session: AsyncSession, received_id: uuid.UUID, directive_id: uuid.UUID, *, actor: Principal, now: datetime
) -> ReplyLink:
    """Our document ``directive_id`` answers the received document: its packages carry ``ResponseFor``
    to it. Only the addressed unit's own documents, before they are dispatched."""
    received = await repository.received_for_update(session, received_id, actor.unit or "")
    if received is None:
        raise ReceivedNotFoundError(f"no received document {received_id} addressed to your unit")
    directive = await repository.unit_directive_for_update(session, directive_id, received.unit_code)
    if directive is None:
        raise UnprocessableError("the reply must be a document of the unit the received document is addressed to")
    if directive.dispatched_at is not None:
        raise ConflictError("the reply was dispatched already: link it before dispatching")
    link = await repository.reply_link_of(session, directive.id)
    if link is None:
        return await repository.add_reply_link(
            session,
            {
                "directive_id": directive.id,
                "received_document_id": received.id,
                "linked_by": actor.id,
                "linked_at": now,
            },
        )
    if link.received_document_id != received.id:
        raise ConflictError("the document already answers another received document")
    return link


class ReceivedAttachmentNotFoundError(NotFoundError):
    title = "The received document has no such attachment"


@dataclass(frozen=True)
class Opened:
    """A received document, the changes asked about it, and its package as it reached us."""

    labelled: Labelled
    package: DocumentPackage


async def _visible(session: AsyncSession, received_id: uuid.UUID, actor: Principal, settings: Settings) -> Labelled:
    """The received document if the caller may see it in :func:`list_for` (404 otherwise, as for one
    that does not exist: another unit's mail is not even confirmed)."""
    found = await repository.received_visible(session, received_id, _readable_unit(actor, settings))
    if found is None:
        raise ReceivedNotFoundError(f"no received document {received_id} addressed to your unit")
    return (await labelled(session, [found]))[0]


async def open_received(
    session: AsyncSession, received_id: uuid.UUID, *, actor: Principal, settings: Settings, store: FileStore
) -> Opened:
    """A received document with its package read back from the file store (its header and attachments)."""
    shown = await _visible(session, received_id, actor, settings)
    return Opened(shown, await _read_back(store, shown.document.sha256))


async def _read_back(store: FileStore, sha256: str) -> DocumentPackage:
    """A stored package parsed again. It was parsed under the limits of its day on arrival: read it
    back whatever they are now."""
    raw = await store.get_async(sha256)
    limits = ParseLimits(max_bytes=max(len(raw), ParseLimits().max_bytes), max_attachment_bytes=max(len(raw), 1))
    return parse_document_package(raw, limits=limits)


def attachment_of(package: DocumentPackage, key: str) -> tuple[int, Attachment]:
    """The attachment ``key`` names: its position (from 0) when all digits, else its ``AttachmentName``."""
    attachments = package.attachments
    if key.isascii() and key.isdigit():
        index = int(key)
        if index < len(attachments):
            return index, attachments[index]
    else:
        for index, attachment in enumerate(attachments):
            if attachment.attachment_name == key:
                return index, attachment
    raise ReceivedAttachmentNotFoundError(
        f"the document has {len(attachments)} attachment(s); none is {key!r}", attachments=len(attachments)
    )


class ReplyNotFoundError(NotFoundError):
    title = "Reply not found"


@dataclass(frozen=True)
class OpenedReply:
    """A unit's reply package linked to its delivery of one of our documents, read back."""

    record: ExchangePackage
    directive_id: uuid.UUID
    unit_code: str
    package: DocumentPackage


async def open_reply(session: AsyncSession, package_id: int, *, actor: Principal, store: FileStore) -> OpenedReply:
    """The reply package ``package_id`` for whoever sees it on the document's recipients (the issuing
    office, the replying unit; 404 for anyone else, as for one that does not exist)."""
    found = await repository.linked_reply(session, package_id)
    if found is None:
        raise ReplyNotFoundError(f"no reply {package_id}")
    record, delivery = found
    assert record.directive_id is not None  # a reply is linked to a delivery of the document
    try:
        await deliveries.ensure_delivery_visible(session, record.directive_id, delivery.unit_code, actor=actor)
    except (NotFoundError, ForbiddenError):
        raise ReplyNotFoundError(f"no reply {package_id}") from None
    return OpenedReply(record, record.directive_id, delivery.unit_code, await _read_back(store, record.sha256))
