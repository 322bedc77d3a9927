"""Dispatch to every recipient, delivery status, events, archive, recall and replacement."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from common.outbox import emit
from common.problems import NotFoundError, UnprocessableError
from directive_api.directives.models import Directive
from directive_api.dispatch.models import (
    DELIVERY_STATUSES,
    Delivery,
    DeliveryStatusLog,
    OutboxEvent,
    RecordsFile,
)
from directive_api.dispatch.status_order import StatusPoint, supersedes
from directive_api.orgs import service as orgs
from directive_api.orgs.models import Unit

SOURCE = "directive-api"


class DeliveryNotFoundError(NotFoundError):
    title = "Delivery not found"


def directive_summary(directive: Directive) -> dict[str, Any]:
    """The ``directive`` object of events (docs/events.md)."""
    return {
        "id": str(directive.id),
        "public_id": directive.public_id,
        "doc_type": directive.doc_type,
        "notation": directive.notation,
        "subject": directive.subject,
        "issuer_code": directive.issuer_code,
        "issued_on": directive.issued_on.isoformat() if directive.issued_on else None,
        "urgency": directive.urgency,
        "status": directive.status,
        "compliance": directive.compliance,
    }


def emit_event(session: AsyncSession, type_: str, directive: Directive, **data: Any) -> OutboxEvent:
    """Write an event in the caller's transaction."""
    return emit(
        session,
        OutboxEvent,
        type=type_,
        subject=str(directive.id),
        data={"directive": directive_summary(directive), **data},
        source=SOURCE,
    )


async def recipients_of(session: AsyncSession, directive: Directive) -> list[tuple[Unit, str]]:
    """Every unit the document goes to, once: addressees (expanded groups) then information copies."""
    groups = [a["group"] for a in directive.addressees if a.get("group")]
    units = [a["unit"] for a in directive.addressees if a.get("unit")]
    addressees = await orgs.expand(session, groups=groups, units=units)
    seen = {u.code for u in addressees}
    info_codes = [c for r in directive.info_recipients for c in r.get("units") or [] if c not in seen]
    information = await orgs.expand(session, units=info_codes)
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
            status="sent",
            status_at=now,
            created_at=now,
        )
        for unit, role in recipients
    ]
    session.add_all(deliveries)
    session.add_all(
        DeliveryStatusLog(delivery_id=d.id, status="sent", reason=None, source="dispatch", at=now) for d in deliveries
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
    statement = (
        select(Delivery).where(Delivery.directive_id == directive_id).order_by(Delivery.role, Delivery.unit_code)
    )
    return (await session.scalars(statement)).all()


async def apply_status(
    session: AsyncSession,
    delivery: Delivery,
    *,
    status: str,
    reason: str | None,
    source: str,
    at: datetime,
    directive: Directive,
) -> bool:
    """Move a delivery to an edXML status if it comes later in the status order (status_order.py);
    False when it does not (a duplicate, or a package overtaken by a later one): nothing changes."""
    if status not in DELIVERY_STATUSES:
        raise UnprocessableError(f"unknown delivery status {status!r}")
    incoming = StatusPoint(status, at, reason or None)
    if not supersedes(incoming, StatusPoint(delivery.status, delivery.status_at, delivery.status_reason or None)):
        return False
    if delivery.status == status and (delivery.status_reason or None) == (reason or None):
        delivery.status_at = at  # the same word said again later: only its time moves
        await session.flush()
        return False
    delivery.status = status
    delivery.status_reason = reason
    delivery.status_at = at
    session.add(DeliveryStatusLog(delivery_id=delivery.id, status=status, reason=reason, source=source, at=at))
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
    existing = await session.scalar(
        select(RecordsFile).where(
            RecordsFile.issuer_code == issuer_code,
            RecordsFile.year == year,
            RecordsFile.file_notation == file_notation,
        )
    )
    if existing is not None:
        return existing
    issuer = await session.get(Unit, issuer_code)
    record = RecordsFile(
        issuer_code=issuer_code,
        organ_id=issuer.organ_id if issuer else None,
        year=year,
        file_notation=file_notation,
        title=title,
        retention=retention,
        created_by=actor_id,
    )
    session.add(record)
    await session.flush()
    return record
