"""Packages from organ ids the directory does not know: listed, mapped to a unit, or rejected."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.edxml import parse_document_package, parse_status_package
from common.problems import ConflictError, ProblemError
from common.storage import FileStore
from directive_api.exchange import repository, service
from directive_api.exchange.errors import (
    QuarantinedPackageNotFoundError,
    QuarantineResolvedError,
    UnknownUnitError,
)
from directive_api.exchange.models import QuarantinedPackage
from directive_api.orgs.models import Unit
from directive_api.settings import Settings


async def list_packages(session: AsyncSession, *, state: str | None) -> Sequence[QuarantinedPackage]:
    return await repository.quarantined(session, state=state)


async def _pending(session: AsyncSession, package_id: int) -> QuarantinedPackage:
    record = await session.get(QuarantinedPackage, package_id, with_for_update=True)
    if record is None:
        raise QuarantinedPackageNotFoundError(f"no quarantined package {package_id}")
    if record.state != "pending":
        raise QuarantineResolvedError(f"the package was already {record.state}")
    return record


async def _apply(
    session: AsyncSession, record: QuarantinedPackage, *, settings: Settings, store: FileStore, now: datetime
) -> str:
    """Apply a quarantined package now that its sender is known; what happened, in words."""
    raw = await store.get_async(record.sha256)
    try:
        async with session.begin_nested():
            if record.kind == "status":
                applied = await service.apply_status_package(
                    session, parse_status_package(raw), raw, settings=settings, store=store, now=now
                )
            else:
                applied = await service.apply_reply(
                    session, parse_document_package(raw), raw, settings=settings, store=store, now=now
                )
    except ProblemError as exc:  # e.g. it answers no document sent to that unit: mapped, nothing to apply
        return f"not applied: {exc.detail or exc.title}"
    outcomes = [outcome for _d, _doc, outcome in applied.deliveries]
    return f"applied to {len(outcomes)} deliveries ({', '.join(sorted(set(outcomes)))})"


async def map_to_unit(
    session: AsyncSession,
    package_id: int,
    unit_code: str,
    *,
    actor_id: str,
    settings: Settings,
    store: FileStore,
    now: datetime,
) -> list[QuarantinedPackage]:
    """Give the unit the package's sender organ id and apply every pending package of that sender."""
    record = await _pending(session, package_id)
    unit = await session.get(Unit, unit_code, with_for_update=True)
    if unit is None:
        raise UnknownUnitError(f"no unit has the code {unit_code!r}")
    organ_id = record.sender_organ_id
    holder = await repository.unit_with_organ_id(session, organ_id)
    if holder is not None and holder.code != unit.code:
        raise ConflictError(f"{organ_id} is already the identifier of {holder.code}")
    if unit.organ_id not in (None, organ_id) and not unit.organ_id_development:
        raise ConflictError(f"{unit.code} already has the identifier {unit.organ_id}")
    unit.organ_id, unit.organ_id_development = organ_id, False
    await session.flush()
    resolved = await repository.quarantined(session, state="pending", sender_organ_id=organ_id)
    for item in resolved:
        item.resolution = await _apply(session, item, settings=settings, store=store, now=now)
        item.state, item.unit_code, item.resolved_by, item.resolved_at = "mapped", unit.code, actor_id, now
    await session.flush()
    return resolved


async def reject(
    session: AsyncSession, package_id: int, reason: str, *, actor_id: str, now: datetime
) -> QuarantinedPackage:
    """Close a quarantined package without applying it (kept for the archive trail)."""
    record = await _pending(session, package_id)
    record.state, record.resolution, record.resolved_by, record.resolved_at = "rejected", reason, actor_id, now
    await session.flush()
    return record
