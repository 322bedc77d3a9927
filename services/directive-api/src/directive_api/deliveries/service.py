"""Dispatch to every recipient, delivery statuses, compliance events from report-api, records files.

:func:`dispatch`, :func:`recipients_of`, :func:`apply_status`, :func:`records_file`,
:func:`emit_event` and :func:`directive_summary` are what the directive workflow and the exchange
call; the routes call :func:`list_recipients` and :func:`receive_compliance_event`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from common.problems import UnprocessableError
from directive_api.deliveries import repository
from directive_api.deliveries.models import (
    DELIVERY_STATUSES,
    ComplianceStatus,
    Delivery,
    DeliveryStatus,
    DeliveryStatusLog,
    RecordsFile,
)
from directive_api.deliveries.schemas import DeliveryPage, DeliveryRead, InboxResult, LinkedReplyRead
from directive_api.deliveries.status_order import StatusPoint, is_further_along, supersedes
from directive_api.directives.lifecycle import FROZEN_STATUSES, OFFICE_ROLES
from directive_api.directives.models import Directive
from directive_api.events import service as events
from directive_api.events import visibility
from directive_api.events.errors import DirectiveNotFoundError
from directive_api.events.service import SOURCE, directive_summary, emit_event
from directive_api.orgs import service as orgs
from directive_api.orgs.models import Unit

__all__ = [
    "SOURCE",
    "apply_compliance_event",
    "apply_status",
    "directive_summary",
    "dispatch",
    "emit_event",
    "list_deliveries",
    "list_recipients",
    "receive_compliance_event",
    "recipients_of",
    "records_file",
]


async def recipients_of(session: AsyncSession, directive: Directive) -> list[tuple[Unit, str]]:
    """Every unit the document goes to, once: addressees (expanded groups) then information copies."""
    groups = [a["group"] for a in directive.addressees if a.get("group")]
    units = [a["unit"] for a in directive.addressees if a.get("unit")]
    # Units named on their own are delivered even if retired since issue (see orgs.recipients):
    # the issued text names them, and issuing refuses them while they are already retired.
    addressees = await orgs.recipients(session, groups=groups, units=units)
    seen = {u.code for u in addressees}
    info_codes = [c for r in directive.info_recipients for c in r.get("units") or [] if c not in seen]
    information = await orgs.recipients(session, units=info_codes)
    information = [u for u in information if u.code != directive.issuer_code]
    return [(u, "addressee") for u in addressees] + [(u, "information") for u in information]


def _channel(unit: Unit) -> str:
    return "edxml" if unit.organ_id else "report_api"


async def dispatch(session: AsyncSession, directive: Directive, *, now: datetime) -> list[Delivery]:
    """Create one delivery per recipient and emit ``directive.dispatched``."""
    recipients = await recipients_of(session, directive)
    deliveries = [
        Delivery(
            id=uuid.uuid4(),
            directive_id=directive.id,
            unit_code=unit.code,
            role=role,
            channel=_channel(unit),
            status=DeliveryStatus.sent,
            status_at=now,
            created_at=now,
        )
        for unit, role in recipients
    ]
    repository.add_deliveries(session, deliveries)
    for delivery in deliveries:
        repository.log_status(
            session, DeliveryStatusLog(delivery_id=delivery.id, status="sent", reason=None, source="dispatch", at=now)
        )
    emit_event(
        session,
        "directive.dispatched",
        directive,
        addressees=[
            {"unit_code": u.code, "unit_name": u.name, "group_code": u.group_code, "must_act": True}
            for u, role in recipients
            if role == "addressee"
        ],
        information_recipients=[
            {"unit_code": u.code, "unit_name": u.name} for u, role in recipients if role != "addressee"
        ],
    )
    await session.flush()
    return deliveries


async def list_deliveries(session: AsyncSession, directive_id: uuid.UUID) -> Sequence[Delivery]:
    """Every delivery of a document, addressees first."""
    return await repository.deliveries_of(session, directive_id)


async def _readable_directive(session: AsyncSession, directive_id: uuid.UUID, actor: Principal) -> Directive:
    directive = await repository.get_directive(session, directive_id)
    if directive is None:
        raise DirectiveNotFoundError(f"no document {directive_id}")
    await visibility.ensure_readable(session, directive, actor)
    return directive


def _sees_every_delivery(directive: Directive, actor: Principal) -> bool:
    """The issuing office sees every recipient's delivery; anyone else only its own unit's."""
    return actor.has_any(*OFFICE_ROLES) and actor.unit == directive.issuer_code


async def ensure_delivery_visible(
    session: AsyncSession, directive_id: uuid.UUID, unit_code: str, *, actor: Principal
) -> None:
    """Raise :class:`DirectiveNotFoundError` unless ``unit_code``'s delivery of the document is among
    what :func:`list_recipients` shows the caller (without listing every recipient)."""
    directive = await _readable_directive(session, directive_id, actor)
    if not (_sees_every_delivery(directive, actor) or (actor.unit is not None and actor.unit == unit_code)):
        raise DirectiveNotFoundError(f"no document {directive_id}")


async def list_recipients(session: AsyncSession, directive_id: uuid.UUID, *, actor: Principal) -> DeliveryPage:
    """The recipients of a document the caller may read, with their statuses: all of them for the
    issuing office, only its own unit's delivery for anyone else."""
    directive = await _readable_directive(session, directive_id, actor)
    if _sees_every_delivery(directive, actor):
        rows = await repository.deliveries_of(session, directive.id)
    else:
        rows = await repository.deliveries_of(session, directive.id, unit_code=actor.unit) if actor.unit else []
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    replies = await repository.linked_replies(
        session, directive.id, [r.reply_package_id for r in rows if r.reply_package_id is not None]
    )
    items = []
    for row in rows:
        item = DeliveryRead.model_validate(row)
        if row.reply_package_id in replies:
            package, announced = replies[row.reply_package_id]
            item.reply = LinkedReplyRead(
                package_id=package.id,
                code=announced.get("code"),
                subject=announced.get("subject") or package.summary,
                document_id=announced.get("document_id"),
                received_at=package.created_at,
            )
        items.append(item)
    return DeliveryPage(directive_id=directive.id, counts=counts, items=items)


async def apply_status(
    session: AsyncSession,
    delivery: Delivery,
    *,
    status: str,
    reason: str | None,
    source: str,
    at: datetime,
    directive: Directive,
    flush: bool = True,
) -> bool:
    """Move a delivery to an edXML status if it comes later in the status order (status_order.py);
    False when it does not (a duplicate, or a package overtaken by a later one): nothing changes.
    ``flush=False`` leaves the writes in the session (a caller applying a batch flushes once)."""
    if status not in DELIVERY_STATUSES:
        raise UnprocessableError(f"unknown delivery status {status!r}")
    incoming = StatusPoint(status, at, reason or None)
    if not supersedes(incoming, StatusPoint(delivery.status, delivery.status_at, delivery.status_reason or None)):
        return False
    if delivery.status == status and (delivery.status_reason or None) == (reason or None):
        delivery.status_at = at  # the same word said again later: only its time moves
        if flush:
            await session.flush()
        return False
    delivery.status = DeliveryStatus(status)
    delivery.status_reason = reason
    delivery.status_at = at
    repository.log_status(
        session, DeliveryStatusLog(delivery_id=delivery.id, status=status, reason=reason, source=source, at=at)
    )
    emit_event(
        session,
        "delivery.status_changed",
        directive,
        unit_code=delivery.unit_code,
        status=status,
        reason=reason,
        at=at.isoformat(),
        source=source,
    )
    if flush:
        await session.flush()
    return True


async def records_file(
    session: AsyncSession,
    *,
    issuer_code: str,
    year: int,
    file_notation: str,
    title: str,
    retention: str,
    actor_id: str,
) -> RecordsFile:
    """The records file (hồ sơ) with this FileCode, created on first use."""
    existing = await repository.records_file(session, issuer_code=issuer_code, year=year, file_notation=file_notation)
    if existing is not None:
        return existing
    issuer = await repository.get_unit(session, issuer_code)
    record = RecordsFile(
        issuer_code=issuer_code,
        organ_id=issuer.organ_id if issuer else None,
        year=year,
        file_notation=file_notation,
        title=title,
        retention=retention,
        created_by=actor_id,
    )
    repository.add_records_file(session, record)
    await session.flush()
    return record


COMPLIANCE_TO_DELIVERY: dict[str, tuple[ComplianceStatus, DeliveryStatus | None]] = {
    "obligation.acknowledged": ("acknowledged", DeliveryStatus.accepted),
    "obligation.submitted": ("submitted", DeliveryStatus.processing),
    "obligation.returned": ("returned", DeliveryStatus.processing),
    "obligation.accepted": ("accepted", DeliveryStatus.done),
    "obligation.overdue": ("overdue", None),
}
"""report-api's obligation events: the compliance status they show, and the delivery status they imply."""


UnmatchedCompliance = Callable[[AsyncSession, str, uuid.UUID, str, datetime], Awaitable[bool]]
"""What answers an obligation event that names no delivery of ours (event type, document, unit, now):
the exchange slice, for a document that reached us over the exchange. Passed in by the app, as the
slice above this one."""


MatchedCompliance = Callable[[AsyncSession, str, Delivery, Directive, datetime], Awaitable[None]]
"""What else an obligation event about one of our deliveries does (event type, delivery, document, now):
the exchange slice answers the unit's reply package when the Office accepts its report. Passed in by
the app, as the slice above this one."""


async def receive_compliance_event(
    session: AsyncSession,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: list[str],
    now: datetime,
    unmatched: UnmatchedCompliance | None = None,
    matched: MatchedCompliance | None = None,
) -> InboxResult:
    """An event from report-api's relay: verified, recorded once, then applied to its delivery."""
    received = await events.receive_event(session, headers, body, secrets, source="report-api")
    if received.duplicate:
        return InboxResult(event_id=received.msg_id, duplicate=True, applied=False)
    applied = await apply_compliance_event(session, received.event, now, unmatched=unmatched, matched=matched)
    return InboxResult(event_id=received.msg_id, duplicate=False, applied=applied)


async def apply_compliance_event(
    session: AsyncSession,
    event: Mapping[str, Any],
    now: datetime,
    *,
    unmatched: UnmatchedCompliance | None = None,
    matched: MatchedCompliance | None = None,
) -> bool:
    """Show an obligation event's compliance status on its delivery, and move the delivery's status
    forward when the event implies a later one. False when the event is not one of ours, names no
    delivery, or is older than the status shown."""
    mapping = COMPLIANCE_TO_DELIVERY.get(str(event.get("type")))
    data = event.get("data") or {}
    if mapping is None:
        return False
    try:
        directive_id = uuid.UUID(str(data.get("directive_id")))
    except ValueError:
        return False
    delivery = await repository.delivery_for_update(session, directive_id, str(data.get("unit_code")))
    directive = await repository.get_directive(session, directive_id)
    if delivery is None or directive is None:  # perhaps a document that reached us over the exchange
        if unmatched is None:
            return False
        return await unmatched(session, str(event.get("type")), directive_id, str(data.get("unit_code")), now)
    compliance_status, code = mapping
    # report-api's events arrive in any order (concurrent batches, retries); its `sequence` orders them.
    # An older event than the one shown leaves the compliance status alone; the delivery status only
    # ever moves forward, so it may still advance.
    sequence = event.get("sequence")
    sequence = sequence if type(sequence) is int else None
    last = delivery.compliance_sequence
    stale = sequence is not None and last is not None and sequence <= last
    if not stale:
        delivery.compliance_status = compliance_status
        delivery.compliance_sequence = sequence if sequence is not None else last
        repository.log_status(
            session,
            DeliveryStatusLog(
                delivery_id=delivery.id, status=compliance_status, reason=None, source="report-api", at=now
            ),
        )
    if (
        code is not None
        and is_further_along(code, delivery.status)  # compliance events never move a delivery backwards
        and directive.status not in FROZEN_STATUSES
    ):
        await apply_status(
            session, delivery, status=code, reason=None, source="report-api", at=now, directive=directive
        )
    if matched is not None and not stale:
        await matched(session, str(event.get("type")), delivery, directive, now)
    await session.flush()
    return not stale
