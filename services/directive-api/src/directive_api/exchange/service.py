"""edXML (QCVN 102:2016) exchange: export our documents, apply incoming status and reply packages."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from common.calendar import WorkingCalendar
from common.db import utc_now
from common.edxml import (
    REASON_UPDATE,
    VIETNAM_TZ,
    Attachment,
    Code,
    DocumentPackage,
    DocumentType,
    EdxmlError,
    MessageHeader,
    Organization,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusPackage,
    build_document_package,
    build_replacement_package,
    build_revocation_package,
    build_status_package,
    make_document_id,
    make_document_package,
    make_status_package,
    make_update_package,
    parse_document_id,
    parse_document_package,
    response_for_document,
)
from common.problems import ConflictError, ProblemError, UnprocessableError
from common.storage import FileStore
from directive_api.deliveries import service as dispatching
from directive_api.deliveries.models import DELIVERY_STATUSES, Delivery, ExchangePackage
from directive_api.directives.lifecycle import DOC_TYPES, PRE_ISSUE_STATUSES, format_number, notation_suffix
from directive_api.directives.models import Directive
from directive_api.exchange import repository, signing
from directive_api.exchange.errors import (
    MissingOrganIdError,
    NotIssuedError,
    RecalledDocumentError,
    SenderNotBoundError,
    UnknownDocumentError,
)
from directive_api.orgs.models import Unit
from directive_api.pdfs.service import Keys, addressee_lines
from directive_api.people.models import Person
from directive_api.settings import SenderContact, Settings

PRIORITY = {None: 0, "KHẨN": 1, "THƯỢNG KHẨN": 2, "HỎA TỐC": 3}


def organ_id_of(unit: Unit, settings: Settings) -> str | None:
    """The unit's exchange identifier: the directory's, else a configured one; never its local code."""
    return unit.organ_id or settings.organ_ids.get(unit.code)


async def unit_for_organ(session: AsyncSession, organ_id: str, settings: Settings) -> Unit | None:
    """The directory unit an exchange identifier belongs to (partners are known by organ id only)."""
    return (await repository.units_for_organs(session, {organ_id}, dict(settings.organ_ids))).get(organ_id)


async def bound_sender(session: AsyncSession, actor: Principal, organ_id: str, settings: Settings) -> Unit | None:
    """The unit a package's sender resolves to, if the caller may speak for it: a unit's own token,
    or an ``integration`` client configured to relay for it (``exchange_relays``; ``*``: for every
    sender, as the gateway to the national exchange does); 403 otherwise. None for a sender the
    directory does not know, whose package only a relaying integration may post (it is quarantined)."""
    sender = await unit_for_organ(session, organ_id, settings)
    relayed = set(settings.exchange_relays.get(actor.id, ())) if actor.has_any("integration") else set()
    if sender is None:
        if "*" in relayed or organ_id in relayed:
            return None
        raise SenderNotBoundError(
            f"the sender {organ_id} is not in the directory: only an exchange integration relaying for it "
            "may post its packages"
        )
    if actor.unit == sender.code or "*" in relayed:
        return sender
    if relayed & {sender.code, organ_id, organ_id_of(sender, settings)}:
        return sender
    raise SenderNotBoundError(
        f"a package from {organ_id} may be posted by {sender.code}'s own token or by an exchange integration "
        "configured to relay for it"
    )


def due_date(directive: Directive) -> datetime | None:
    """The reply deadline carried in the package (DueDate), from the compliance request."""
    compliance = directive.compliance or {}
    if compliance.get("due_date"):
        return datetime.fromisoformat(compliance["due_date"])
    if compliance.get("deadline_working_days") and directive.issued_on:
        day = WorkingCalendar().add_working_days(directive.issued_on, int(compliance["deadline_working_days"]))
        return datetime(day.year, day.month, day.day)
    return None


def _missing(unit: Unit, role: str) -> dict[str, str]:
    return {"code": unit.code, "name": unit.name, "role": role}


async def document_package(
    session: AsyncSession,
    directive: Directive,
    *,
    settings: Settings,
    store: FileStore,
    only_with_organ_id: bool = False,
) -> tuple[DocumentPackage, list[Unit]]:
    """Our issued document as an edXML package, addressed by organ id to every recipient, with the
    signed PDF; and the recipients left out because they have no organ id (only when asked to).

    Raises MissingOrganIdError, listing the units to fix, when the issuer has no organ id, or when a
    recipient has none and ``only_with_organ_id`` is not set."""
    if directive.status in PRE_ISSUE_STATUSES or directive.issued_on is None or directive.number is None:
        raise NotIssuedError("only issued documents can be exchanged")
    issuer = await session.get(Unit, directive.issuer_code)
    assert issuer is not None
    sender_id = organ_id_of(issuer, settings)
    everyone = [unit for unit, _role in await dispatching.recipients_of(session, directive)]
    recipients = [(unit, organ) for unit in everyone if (organ := organ_id_of(unit, settings))]
    skipped = [unit for unit in everyone if not organ_id_of(unit, settings)]
    missing = ([_missing(issuer, "issuer")] if sender_id is None else []) + (
        [] if only_with_organ_id else [_missing(unit, "recipient") for unit in skipped]
    )
    if missing:
        raise MissingOrganIdError(
            f"{len(missing)} units have no exchange identifier: give them one (directory, "
            "`directive-api import-organ-ids`) or export with only_with_organ_id=true to leave recipients out",
            units=missing,
        )
    assert sender_id is not None
    if not recipients:
        raise MissingOrganIdError("no recipient has an exchange identifier", units=[])
    type_name, abbreviation = DOC_TYPES[directive.doc_type]
    suffix = notation_suffix(directive.doc_type, directive.issuer_notation, directive.drafting_unit)
    number = format_number(directive.number)
    lines = directive.signature_title_lines
    due = due_date(directive)
    parent = await session.get(Unit, issuer.parent_code) if issuer.parent_code else None
    contact = settings.exchange.contacts.get(issuer.code) or SenderContact()
    issued_file = await repository.issued_page_count(session, directive)
    header = MessageHeader(
        sender=Organization(
            organ_id=sender_id,
            organ_name=issuer.name,
            organization_in_charge=parent.name if parent else issuer.name,
            organ_add=contact.address,
            email=contact.email,
            telephone=contact.telephone,
            fax=contact.fax,
            website=contact.website,
        ),
        recipients=tuple(Organization(organ_id=organ, organ_name=unit.name) for unit, organ in recipients),
        document_id=make_document_id(sender_id, directive.issued_on, number, suffix),
        code=Code(code_number=number, code_notation=suffix),
        promulgation_info=PromulgationInfo(place=directive.place_name, promulgation_date=directive.issued_on),
        # Type 1 / TypeDetail 0 as in the vendor's samples: the national code list is not published.
        document_type=DocumentType(type=1, type_detail=0, type_name=type_name),
        subject=("V/v " if abbreviation is None else "") + directive.subject,
        content=directive.subject,
        signer_info=SignerInfo(
            competence=lines[0] if len(lines) > 1 else None,
            position=lines[-1] if lines else None,
            full_name=directive.signer_name,
        ),
        due_date=due.date() if due else None,
        to_places=tuple(await addressee_lines(session, directive)),
        other_info=OtherInfo(
            priority=PRIORITY.get(directive.urgency, 0),
            promulgation_amount=directive.copies or len(recipients),
            page_amount=issued_file,
        ),
        # A document that asks its recipients to act and report is a steering document.
        steering_type=1 if directive.compliance else 0,
    )
    attachments = []
    if directive.issued_sha256:
        attachments.append(
            Attachment(
                content_id="1",
                attachment_name=f"{(directive.notation or 'van-ban').replace('/', '-')}.pdf",
                description="Văn bản điện tử đã ký số",
                content_type="application/pdf",
                content=await store.get_async(directive.issued_sha256),
            )
        )
        # The documents travelling with it (tài liệu kèm theo), each as its own file, as uploaded.
        for index, item in enumerate(directive.attachments or (), start=2):
            attachments.append(
                Attachment(
                    content_id=str(index),
                    attachment_name=item["name"],
                    description="Tài liệu kèm theo",
                    content_type="application/pdf",
                    content=await store.get_async(item["sha256"]),
                )
            )
    answered = await repository.reply_link(session, directive.id)
    if answered is not None:  # a reply to a document that reached us over the exchange
        header = header.model_copy(
            update={
                "response_for": (
                    ResponseFor(
                        organ_id=answered.sender_organ_id,
                        code=answered.notation,
                        promulgation_date=answered.promulgation_date,
                        document_id=answered.document_id,
                    ),
                )
            }
        )
    clerk = await session.get(Person, directive.issued_by) if directive.issued_by else None
    staff = StaffInfo(department=clerk.division, staff=clerk.full_name) if clerk else None
    return make_document_package(header, attachments=attachments, staff_info=staff), skipped


async def export(
    session: AsyncSession,
    directive: Directive,
    *,
    kind: str,
    settings: Settings,
    store: FileStore,
    keys: Keys,
    only_with_organ_id: bool = False,
) -> tuple[bytes, list[Unit]]:
    """The package of ``kind`` (document, revocation, replacement, update) as bytes, signed with the
    issuer's seal and recorded as sent, and the recipients left out for want of an organ id
    (:func:`build_export`, then :func:`record_sent`)."""
    data, skipped, sender_organ_id, document_id = await build_export(
        session, directive, kind=kind, settings=settings, store=store, keys=keys, only_with_organ_id=only_with_organ_id
    )
    await record_sent(
        session,
        directive,
        kind=kind,
        data=data,
        sender_organ_id=sender_organ_id,
        summary=document_id,
        store=store,
    )
    return data, skipped


async def build_export(
    session: AsyncSession,
    directive: Directive,
    *,
    kind: str,
    settings: Settings,
    store: FileStore,
    keys: Keys,
    only_with_organ_id: bool = False,
) -> tuple[bytes, list[Unit], str, str | None]:
    """The package of ``kind`` signed with the issuer's seal, not recorded: its bytes, the recipients
    left out for want of an organ id, the sender's organ id and the package's DocumentId (the
    transport records it once the hub took it, without parsing back what it built).

    A recalled or replaced document is never exported as a new document (checked before anything
    else): its recipients would take it for a letter still in force."""
    if kind == "document" and directive.status in ("recalled", "replaced"):
        raise RecalledDocumentError(
            "the document was recalled: export kind=revocation"
            if directive.status == "recalled"
            else "the document was replaced: export kind=replacement of the document that replaces it"
        )
    if kind not in ("document", "revocation", "replacement", "update"):
        raise UnprocessableError("kind is one of document, revocation, replacement, update")
    package, skipped = await document_package(
        session, directive, settings=settings, store=store, only_with_organ_id=only_with_organ_id
    )
    if kind == "document":
        data = build_document_package(package)
    elif kind == "revocation":
        if directive.status != "recalled":
            raise ConflictError("a revocation package is only sent for a recalled document")
        data = build_revocation_package(package, reason=directive.recall_reason or "Thu hồi")
    elif kind == "replacement":
        if directive.replaces_id is None:
            raise ConflictError("this document replaces no other document")
        replaced = await session.get(Directive, directive.replaces_id)
        assert replaced is not None
        old, _ = await document_package(
            session, replaced, settings=settings, store=store, only_with_organ_id=only_with_organ_id
        )
        data = build_replacement_package(package, [old])
    else:
        if directive.corrects_id is None:
            raise ConflictError("an update package is sent for a đính chính (a document that corrects another)")
        corrected = await session.get(Directive, directive.corrects_id)
        assert corrected is not None
        original, _ = await document_package(
            session, corrected, settings=settings, store=store, only_with_organ_id=only_with_organ_id
        )
        before = {r.organ_id for r in original.header.recipients}
        after = {r.organ_id for r in package.header.recipients}
        update = make_update_package(
            package,
            metadata_changed=True,
            added_recipients=sorted(after - before),
            removed_recipients=sorted(before - after),
            reason=f"Đính chính văn bản {corrected.notation}" if corrected.notation else REASON_UPDATE,
            staff_info=package.trace_header_list.business.staff_info if package.trace_header_list.business else None,
            original=original,
        )
        data = build_document_package(update)
    issuer = await session.get(Unit, directive.issuer_code)
    assert issuer is not None  # a document's issuer is a unit of the directory (foreign key)
    data = await signing.sign(data, keys, issuer, settings)
    return data, skipped, package.header.sender.organ_id, package.header.document_id


async def record_sent(
    session: AsyncSession,
    directive: Directive | None,
    *,
    kind: str,
    data: bytes,
    sender_organ_id: str,
    summary: str | None,
    store: FileStore,
    status_code: str | None = None,
) -> None:
    """Keep an outgoing package for the archive trail."""
    stored = await store.put_async(data)
    session.add(
        ExchangePackage(
            direction="out",
            kind=kind,
            directive_id=directive.id if directive is not None else None,
            sender_organ_id=sender_organ_id,
            status_code=status_code,
            sha256=stored.sha256,
            size=stored.size,
            summary=summary,
        )
    )
    await session.flush()


def _aware(value: datetime | None) -> datetime | None:
    """edXML timestamps are Vietnam local time without an offset."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=VIETNAM_TZ)


async def find_directive(
    session: AsyncSession, reference: ResponseFor, settings: Settings | None = None
) -> Directive | None:
    """Our document a ResponseFor points to: by number/notation and date (from its DocumentId, else its
    Code and PromulgationDate) and by its issuer's organ id (the DocumentId's, else ``OrganId``), since
    two issuers may both have a 01/… of the same day. Without an organ id, the first such document."""
    notation = reference.code
    promulgated = reference.promulgation_date
    organ = reference.organ_id
    if reference.document_id:
        try:
            parts = parse_document_id(reference.document_id)
            notation = f"{parts.code_number}/{parts.code_notation}"
            promulgated = parts.promulgation_date or promulgated
            organ = parts.organ_id or organ
        except EdxmlError:
            pass
    if not notation:
        return None
    configured = settings.organ_ids if settings is not None else {}
    for directive, issuer in await repository.directives_by_notation(session, notation, promulgated):
        if not organ or organ in (issuer.organ_id, configured.get(issuer.code)):
            return directive
    return None


async def _answer_arrived(
    session: AsyncSession,
    package: DocumentPackage,
    directive: Directive,
    *,
    settings: Settings,
    store: FileStore,
    now: datetime,
    codes: tuple[str, ...] = ("01", "03"),
) -> None:
    """Queue our status packages for a reply that reached us, as QCVN 102 asks: ``01`` (arrived) and,
    since the reply is registered against its delivery at once (no clerk has to file it), ``03``
    (accepted, registered as incoming); ``06`` (done) once the Office accepts the unit's report
    (:func:`answer_reply_done`). The transport signs and sends them, once per answered DocumentId and
    code."""
    issuer = await session.get(Unit, directive.issuer_code)
    assert issuer is not None
    organ_id, document_id = organ_id_of(issuer, settings), package.header.document_id
    if organ_id is None or document_id is None:
        return
    stamp = now.astimezone(VIETNAM_TZ).replace(tzinfo=None)
    for code in codes:
        status = make_status_package(
            sender=Organization(organ_id=organ_id, organ_name=issuer.name),
            document=response_for_document(package),
            status_code=code,
            timestamp=stamp,
        )
        stored = await store.put_async(build_status_package(status))
        await repository.queue(
            session,
            {
                "package_key": f"status:{document_id}:{code}",
                "directive_id": directive.id,
                "kind": "status",
                "message_type": "status",
                "sha256": stored.sha256,
                "status_code": code,
                "next_attempt_at": now,
            },
        )


async def answer_reply_done(
    session: AsyncSession,
    event_type: str,
    delivery: Delivery,
    directive: Directive,
    now: datetime,
    *,
    settings: Settings,
    store: FileStore,
) -> None:
    """report-api: the Office's follow-up officer accepted the unit's report (``obligation.accepted``).
    The unit's reply package linked to the delivery is then done here: ``06`` goes back to the unit,
    once. A reply that arrives after the acceptance gets its ``06`` on arrival (:func:`apply_reply`)."""
    if event_type != "obligation.accepted" or settings.exchange.vxp is None or delivery.reply_package_id is None:
        return
    reply = await session.get(ExchangePackage, delivery.reply_package_id)
    if reply is None:
        return
    package = parse_document_package(await store.get_async(reply.sha256))
    await _answer_arrived(session, package, directive, settings=settings, store=store, now=now, codes=("06",))


def _dedupe_key(*parts: object) -> str:
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


@dataclass
class Applied:
    """What an incoming package did: per delivery ``applied``, ``unchanged`` (overtaken by a later
    status) or ``duplicate`` (received before); or, from an unknown organ id, its quarantine id."""

    deliveries: list[tuple[Delivery, Directive, str]] = field(default_factory=list)
    quarantine_id: int | None = None


async def _quarantine(
    session: AsyncSession, *, kind: str, sender: Organization, summary: str | None, raw: bytes, store: FileStore
) -> Applied:
    stored = await store.put_async(raw)
    record = await repository.quarantine(
        session,
        {
            "kind": kind,
            "sender_organ_id": sender.organ_id,
            "sender_name": sender.organ_name,
            "sha256": stored.sha256,
            "size": stored.size,
            "summary": summary,
        },
    )
    return Applied(quarantine_id=record.id)


async def _delivery(session: AsyncSession, directive: Directive, unit: Unit) -> Delivery | None:
    # Packages about one delivery applied concurrently take turns.
    found = await repository.deliveries_for_update(session, directive.id, {unit.code})
    return found[0] if found else None


async def apply_status_package(
    session: AsyncSession, package: StatusPackage, raw: bytes, *, settings: Settings, store: FileStore, now: datetime
) -> Applied:
    """Move the sender's delivery of each referenced document to the package's status, in the status
    order (deliveries/status_order.py): a duplicate is recorded once, an overtaken one changes nothing.
    A package from an organ id the directory does not know is quarantined."""
    (result,) = await apply_status_packages(session, [(package, raw)], settings=settings, store=store, now=now)
    if isinstance(result, ProblemError):
        raise result
    return result


def _reference_key(reference: ResponseFor) -> tuple[str | None, str | None, object]:
    return (reference.document_id, reference.code, reference.promulgation_date)


async def apply_status_packages(
    session: AsyncSession,
    packages: Sequence[tuple[StatusPackage, bytes]],
    *,
    settings: Settings,
    store: FileStore,
    now: datetime,
) -> list[Applied | ProblemError]:
    """Apply status packages in the caller's transaction, with the rules of
    :func:`apply_status_package` and the result of applying them one by one in the given order, but
    with a few statements for the whole batch (the transport applies what it polled at once): the
    senders, the documents and the deliveries (locked) are read once, the packages recorded in one
    INSERT (its ``ON CONFLICT`` tells the duplicates) and the status changes flushed together.

    Per package: what it did, or the problem that refuses it (it then wrote nothing)."""
    results: list[Applied | ProblemError | None] = [None] * len(packages)
    senders = await repository.units_for_organs(
        session, {package.sender.organ_id for package, _raw in packages}, dict(settings.organ_ids)
    )
    kept: list[int] = []
    for index, (package, raw) in enumerate(packages):
        sender = senders.get(package.sender.organ_id)
        if sender is None:
            results[index] = await _quarantine(
                session, kind="status", sender=package.sender, summary=package.description, raw=raw, store=store
            )
            continue
        try:
            signing.check_partner_signature(raw, package.sender.organ_id, settings)
            if package.status_code not in DELIVERY_STATUSES:
                raise UnprocessableError(f"unknown delivery status {package.status_code!r}")
        except ProblemError as exc:
            results[index] = exc
            continue
        kept.append(index)
    # Each package's bytes go into the row that records it (exchange_packages.raw): durable with
    # that commit, no file and fsync each (a third of the worker's CPU at a fan-out).
    digests = {index: hashlib.sha256(packages[index][1]).hexdigest() for index in kept}
    directives: dict[tuple[str | None, str | None, object], Directive | None] = {}
    wanted: dict[uuid.UUID, set[str]] = {}
    matches: list[tuple[int, Directive]] = []  # (package, document) in package order
    for index in kept:
        package = packages[index][0]
        for reference in package.response_for:
            ref = _reference_key(reference)
            if ref not in directives:
                directives[ref] = await find_directive(session, reference, settings)
            directive = directives[ref]
            if directive is not None:
                matches.append((index, directive))
                wanted.setdefault(directive.id, set()).add(senders[package.sender.organ_id].code)
    deliveries: dict[tuple[uuid.UUID, str], Delivery] = {}
    for directive_id, codes in sorted(wanted.items(), key=lambda item: str(item[0])):
        for locked in await repository.deliveries_for_update(session, directive_id, codes):
            deliveries[(directive_id, locked.unit_code)] = locked
    rows: list[dict[str, object]] = []
    found: list[tuple[int, Directive, Delivery, str]] = []
    for index, directive in matches:
        package = packages[index][0]
        match = deliveries.get((directive.id, senders[package.sender.organ_id].code))
        if match is None:
            continue
        key = _dedupe_key(
            "status",
            package.sender.organ_id,
            directive.id,
            package.status_code,
            package.timestamp.isoformat() if package.timestamp else digests[index],
            package.description,
        )
        found.append((index, directive, match, key))
        rows.append(
            {
                "kind": "status",
                "directive_id": directive.id,
                "sender_organ_id": package.sender.organ_id,
                "status_code": package.status_code,
                "sha256": digests[index],
                "size": len(packages[index][1]),
                "raw": packages[index][1],
                "summary": package.description,
                "dedupe_key": key,
            }
        )
    fresh = await repository.record_incoming_many(session, rows)
    for index in kept:
        results[index] = Applied()
    for index, directive, delivery, key in found:  # in package order: as if applied one by one
        package = packages[index][0]
        outcome = "duplicate"
        if key in fresh:
            fresh.discard(key)  # the same package twice in the batch: the second is a duplicate
            moved = await dispatching.apply_status(
                session,
                delivery,
                status=package.status_code,
                reason=package.description,
                source="edxml",
                at=_aware(package.timestamp) or now,
                directive=directive,
                flush=False,
            )
            outcome = "applied" if moved else "unchanged"
        applied = results[index]
        assert isinstance(applied, Applied)
        applied.deliveries.append((delivery, directive, outcome))
    for index in kept:
        applied = results[index]
        if isinstance(applied, Applied) and not applied.deliveries:
            results[index] = UnknownDocumentError("no delivery of ours matches the package's sender and ResponseFor")
    await session.flush()
    done: list[Applied | ProblemError] = []
    for result in results:
        assert result is not None  # every package is applied, quarantined or refused above
        done.append(result)
    return done


async def apply_reply(
    session: AsyncSession,
    package: DocumentPackage,
    raw: bytes,
    *,
    settings: Settings,
    store: FileStore,
    now: datetime | None = None,
) -> Applied:
    """Link a unit's reply document (ResponseFor) to its delivery and tell report-api; the same reply
    received again is recorded once. A reply from an unknown organ id is quarantined."""
    sender = await unit_for_organ(session, package.header.sender.organ_id, settings)
    if sender is None:
        return await _quarantine(
            session,
            kind="reply",
            sender=package.header.sender,
            summary=package.header.subject,
            raw=raw,
            store=store,
        )
    signing.check_partner_signature(raw, package.header.sender.organ_id, settings)
    stored = await store.put_async(raw)
    result = Applied()
    for reference in package.header.response_for:
        directive = await find_directive(session, reference, settings)
        if directive is None:
            continue
        delivery = await _delivery(session, directive, sender)
        if delivery is None:
            continue
        key = _dedupe_key("reply", package.header.sender.organ_id, directive.id, stored.sha256)
        fresh = await repository.record_incoming(
            session,
            {
                "kind": "reply",
                "directive_id": directive.id,
                "sender_organ_id": package.header.sender.organ_id,
                "sha256": stored.sha256,
                "size": stored.size,
                "summary": package.header.subject,
                "dedupe_key": key,
            },
        )
        if not fresh:
            result.deliveries.append((delivery, directive, "duplicate"))
            continue
        record_id = await repository.incoming_id(session, key)
        delivery.reply_package_id = record_id
        code = package.header.code
        dispatching.emit_event(
            session,
            "delivery.reply_received",
            directive,
            unit_code=sender.code,
            reply={
                "package_id": record_id,
                "sha256": stored.sha256,
                "subject": package.header.subject,
                "code": f"{code.code_number}/{code.code_notation}" if code else None,
                "document_id": package.header.document_id,
            },
        )
        result.deliveries.append((delivery, directive, "applied"))
        if settings.exchange.vxp is not None:
            # accepted before the reply package came (the report was filed in report-api): done at once
            codes = ("01", "03", "06") if delivery.compliance_status == "accepted" else ("01", "03")
            await _answer_arrived(
                session, package, directive, settings=settings, store=store, now=now or utc_now(), codes=codes
            )
    if not result.deliveries:
        raise UnknownDocumentError("the reply answers no document of ours sent to its sender")
    await session.flush()
    return result
