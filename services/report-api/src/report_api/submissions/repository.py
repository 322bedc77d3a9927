"""Statements of the submissions slice: report versions and evidence of an obligation."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from report_api.submissions.models import Evidence, Submission


async def evidence_ids_among(
    session: AsyncSession, obligation_id: uuid.UUID, ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``ids`` are evidence files uploaded to the obligation."""
    found = await session.scalars(
        select(Evidence.id).where(Evidence.obligation_id == obligation_id, Evidence.id.in_(list(ids)))
    )
    return set(found.all())


async def evidence(session: AsyncSession, obligation_id: uuid.UUID, evidence_id: uuid.UUID) -> Evidence | None:
    found: Evidence | None = await session.scalar(
        select(Evidence).where(Evidence.id == evidence_id, Evidence.obligation_id == obligation_id)
    )
    return found


async def latest_submission(session: AsyncSession, obligation_id: uuid.UUID) -> Submission | None:
    found: Submission | None = await session.scalar(
        select(Submission).where(Submission.obligation_id == obligation_id).order_by(Submission.version.desc()).limit(1)
    )
    return found
