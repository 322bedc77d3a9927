"""Queries of the carry-over: pairs of obligations, what the predecessor's obligation holds."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from report_api.obligations.models import DirectiveRecord, ExtensionRequest, Obligation
from report_api.submissions.models import Evidence, Submission


async def pending_pairs(
    session: AsyncSession, predecessor_id: str, successor_id: str, *, units: Collection[str] | None = None
) -> list[tuple[Obligation, Obligation]]:
    """(predecessor's, successor's) obligations of the same unit not carried over yet, locked."""
    statement = select(Obligation).where(Obligation.directive_id == predecessor_id)
    if units is not None:
        statement = statement.where(Obligation.unit_code.in_(list(units)))
    old = (await session.scalars(statement.order_by(Obligation.unit_code).with_for_update())).all()
    if not old:
        return []
    new = {
        o.unit_code: o
        for o in (
            await session.scalars(
                select(Obligation)
                .where(
                    Obligation.directive_id == successor_id,
                    Obligation.unit_code.in_([o.unit_code for o in old]),
                    Obligation.carried_from_id.is_(None),
                )
                .with_for_update()
            )
        ).all()
    }
    carried = set(
        (
            await session.scalars(
                select(Obligation.carried_from_id).where(Obligation.carried_from_id.in_([o.id for o in old]))
            )
        ).all()
    )
    return [(o, new[o.unit_code]) for o in old if o.unit_code in new and o.id not in carried]


async def predecessor_of(session: AsyncSession, directive: DirectiveRecord) -> DirectiveRecord | None:
    if directive.carries_from is None:
        return None
    return await session.get(DirectiveRecord, directive.carries_from)


async def submissions_of(session: AsyncSession, obligation_id: uuid.UUID) -> list[Submission]:
    return list(
        await session.scalars(
            select(Submission).where(Submission.obligation_id == obligation_id).order_by(Submission.version)
        )
    )


async def evidence_of(session: AsyncSession, obligation_id: uuid.UUID) -> list[Evidence]:
    return list(
        await session.scalars(select(Evidence).where(Evidence.obligation_id == obligation_id).order_by(Evidence.id))
    )


async def extensions_of(session: AsyncSession, obligation_id: uuid.UUID) -> list[ExtensionRequest]:
    return list(
        await session.scalars(
            select(ExtensionRequest)
            .where(ExtensionRequest.obligation_id == obligation_id)
            .order_by(ExtensionRequest.requested_at)
            .with_for_update()
        )
    )
