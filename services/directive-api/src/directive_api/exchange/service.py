"""edXML (QCVN 102:2016) exchange: export our documents, apply incoming status and reply packages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from common.calendar import WorkingCalendar
from common.edxml import (
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
    StatusPackage,
    build_document_package,
    build_replacement_package,
    build_revocation_package,
    make_document_id,
    make_document_package,
    parse_document_id,
)
from common.problems import ConflictError, ForbiddenError, UnprocessableError
from common.storage import FileStore
from directive_api.directives.lifecycle import DOC_TYPES, PRE_ISSUE_STATUSES, format_number, notation_suffix
from directive_api.directives.models import Directive
from directive_api.dispatch import service as dispatching
from directive_api.dispatch.models import Delivery, ExchangePackage
from directive_api.orgs.models import Unit
from directive_api.settings import Settings

PRIORITY = {None: 0, "KHẨN": 1, "THƯỢNG KHẨN": 2, "HỎA TỐC": 3}


class NotIssuedError(ConflictError):
    title = "The document has not been issued"


class UnknownDocumentError(UnprocessableError):
    title = "The package refers to no document of ours"


def organ_id_of(unit: Unit, settings: Settings) -> str:
    """The unit's exchange identifier: the directory's, a configured one, or its code as a local id."""
    return unit.organ_id or settings.organ_ids.get(unit.code) or unit.code


async def unit_for_organ(session: AsyncSession, organ_id: str, settings: Settings) -> Unit | None:
    """The directory unit an exchange identifier belongs to."""
    configured = [code for code, value in settings.organ_ids.items() if value == organ_id]
    statement = select(Unit).where(or_(Unit.organ_id == organ_id, Unit.code == organ_id, Unit.code.in_(configured)))
    return (await session.scalars(statement.limit(1))).first()


class SenderNotBoundError(ForbiddenError):
    title = "The package's sender is not the caller's unit"


async def bound_sender(session: AsyncSession, actor: Principal, organ_id: str, settings: Settings) -> Unit:
    """The unit a package's sender resolves to, if the caller may speak for it: a unit's own token,
    or an ``integration`` client configured to relay for it (``exchange_relays``); 403 otherwise."""
    sender = await unit_for_organ(session, organ_id, settings)
    if sender is None:
        raise UnknownDocumentError(f"the sender {organ_id} is not in the directory")
    if actor.unit == sender.code:
        return sender
    relayed = set(settings.exchange_relays.get(actor.id, ())) if actor.has_any("integration") else set()
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


async def document_package(
    session: AsyncSession, directive: Directive, *, settings: Settings, store: FileStore
) -> DocumentPackage:
    """Our issued document as an edXML package, addressed to every recipient, with the signed PDF."""
    if directive.status in PRE_ISSUE_STATUSES or directive.issued_on is None or directive.number is None:
        raise NotIssuedError("only issued documents can be exchanged")
    issuer = await session.get(Unit, directive.issuer_code)
    assert issuer is not None
    sender_id = organ_id_of(issuer, settings)
    recipients = [unit for unit, _role in await dispatching.recipients_of(session, directive)]
    type_name, abbreviation = DOC_TYPES[directive.doc_type]
    suffix = notation_suffix(directive.doc_type, directive.issuer_notation, directive.drafting_unit)
    number = format_number(directive.number)
    lines = directive.signature_title_lines
    due = due_date(directive)
    header = MessageHeader(
        sender=Organization(organ_id=sender_id, organ_name=issuer.name, organization_in_charge=issuer.name),
        recipients=tuple(Organization(organ_id=organ_id_of(u, settings), organ_name=u.name) for u in recipients),
        document_id=make_document_id(sender_id, directive.issued_on, number, suffix),
        code=Code(code_number=number, code_notation=suffix),
        promulgation_info=PromulgationInfo(place=directive.place_name, promulgation_date=directive.issued_on),
        document_type=DocumentType(type=1, type_name=type_name),
        subject=("V/v " if abbreviation is None else "") + directive.subject,
        content=directive.subject,
        signer_info=SignerInfo(
            competence=lines[0] if len(lines) > 1 else None,
            position=lines[-1] if lines else None,
            full_name=directive.signer_name,
        ),
        due_date=due.date() if due else None,
        to_places=tuple(u.name for u in recipients),
        other_info=OtherInfo(
            priority=PRIORITY.get(directive.urgency, 0),
            promulgation_amount=directive.copies or len(recipients),
        ),
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
    return make_document_package(header, attachments=attachments)


async def export(
    session: AsyncSession, directive: Directive, *, kind: str, settings: Settings, store: FileStore
) -> bytes:
    """The package of ``kind`` (document, revocation, replacement) as bytes, recorded as sent."""
    package = await document_package(session, directive, settings=settings, store=store)
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
        old = await document_package(session, replaced, settings=settings, store=store)
        data = build_replacement_package(package, [old])
    else:
        raise UnprocessableError("kind is one of document, revocation, replacement")
    stored = await store.put_async(data)
    session.add(
        ExchangePackage(
            direction="out",
            kind=kind,
            directive_id=directive.id,
            sender_organ_id=package.header.sender.organ_id,
            sha256=stored.sha256,
            size=stored.size,
            summary=package.header.document_id,
        )
    )
    await session.flush()
    return data


def _aware(value: datetime | None) -> datetime | None:
    """edXML timestamps are Vietnam local time without an offset."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=VIETNAM_TZ)


async def find_directive(session: AsyncSession, reference: ResponseFor) -> Directive | None:
    """Our document a ResponseFor points to (by DocumentId, else by number/notation and date)."""
    notation = reference.code
    promulgated = reference.promulgation_date
    if reference.document_id:
        try:
            parts = parse_document_id(reference.document_id)
            notation = f"{parts.code_number}/{parts.code_notation}"
            promulgated = parts.promulgation_date or promulgated
        except EdxmlError:
            pass
    if not notation:
        return None
    statement = select(Directive).where(Directive.notation == notation)
    if promulgated is not None:
        statement = statement.where(Directive.issued_on == promulgated)
    return (await session.scalars(statement.limit(1))).first()


async def apply_status_package(
    session: AsyncSession, package: StatusPackage, raw: bytes, *, settings: Settings, store: FileStore, now: datetime
) -> list[Delivery]:
    """Move the sender's delivery of each referenced document to the package's status."""
    sender = await unit_for_organ(session, package.sender.organ_id, settings)
    if sender is None:
        raise UnknownDocumentError(f"the sender {package.sender.organ_id} is not in the directory")
    updated: list[Delivery] = []
    stored = await store.put_async(raw)
    for reference in package.response_for:
        directive = await find_directive(session, reference)
        if directive is None:
            continue
        delivery = await session.scalar(
            select(Delivery).where(Delivery.directive_id == directive.id, Delivery.unit_code == sender.code)
        )
        if delivery is None:
            continue
        session.add(
            ExchangePackage(
                direction="in",
                kind="status",
                directive_id=directive.id,
                sender_organ_id=package.sender.organ_id,
                status_code=package.status_code,
                sha256=stored.sha256,
                size=stored.size,
                summary=package.description,
            )
        )
        await dispatching.apply_status(
            session,
            delivery,
            status=package.status_code,
            reason=package.description,
            source="edxml",
            at=_aware(package.timestamp) or now,
            directive=directive,
        )
        updated.append(delivery)
    if not updated:
        raise UnknownDocumentError("no delivery of ours matches the package's sender and ResponseFor")
    return updated


async def apply_reply(
    session: AsyncSession, package: DocumentPackage, raw: bytes, *, settings: Settings, store: FileStore
) -> list[tuple[Delivery, Directive]]:
    """Link a unit's reply document (ResponseFor) to its delivery and tell report-api."""
    sender = await unit_for_organ(session, package.header.sender.organ_id, settings)
    if sender is None:
        raise UnknownDocumentError(f"the sender {package.header.sender.organ_id} is not in the directory")
    stored = await store.put_async(raw)
    linked: list[tuple[Delivery, Directive]] = []
    for reference in package.header.response_for:
        directive = await find_directive(session, reference)
        if directive is None:
            continue
        delivery = await session.scalar(
            select(Delivery).where(Delivery.directive_id == directive.id, Delivery.unit_code == sender.code)
        )
        if delivery is None:
            continue
        record = ExchangePackage(
            direction="in",
            kind="reply",
            directive_id=directive.id,
            sender_organ_id=package.header.sender.organ_id,
            sha256=stored.sha256,
            size=stored.size,
            summary=package.header.subject,
        )
        session.add(record)
        await session.flush()
        delivery.reply_package_id = record.id
        code = package.header.code
        dispatching.emit_event(
            session,
            "delivery.reply_received",
            directive,
            unit_code=sender.code,
            reply={
                "package_id": record.id,
                "sha256": stored.sha256,
                "subject": package.header.subject,
                "code": f"{code.code_number}/{code.code_notation}" if code else None,
                "document_id": package.header.document_id,
            },
        )
        linked.append((delivery, directive))
    if not linked:
        raise UnknownDocumentError("the reply answers no document of ours sent to its sender")
    await session.flush()
    return linked
