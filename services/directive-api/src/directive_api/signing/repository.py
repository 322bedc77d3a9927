"""Queries of the signing requests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directive_api.signing.models import SigningRequest


async def get(session: AsyncSession, request_id: uuid.UUID) -> SigningRequest | None:
    return await session.get(SigningRequest, request_id)


async def pending_for(session: AsyncSession, directive_id: uuid.UUID) -> SigningRequest | None:
    """The open request of a document (at most one: a document awaits one signature at a time)."""
    statement = select(SigningRequest).where(
        SigningRequest.directive_id == directive_id, SigningRequest.status == "pending"
    )
    return (await session.scalars(statement)).first()


async def close_pending(session: AsyncSession, directive_id: uuid.UUID, *, status: str, now: datetime) -> None:
    """Close the open request of a document (``abandoned`` or ``expired``)."""
    request = await pending_for(session, directive_id)
    if request is not None:
        request.status = status
        request.closed_at = now
        await session.flush()


async def expired(session: AsyncSession, *, now: datetime, limit: int) -> Sequence[SigningRequest]:
    statement = (
        select(SigningRequest)
        .where(SigningRequest.status == "pending", SigningRequest.expires_at <= now)
        .order_by(SigningRequest.expires_at)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


def add(session: AsyncSession, request: SigningRequest) -> SigningRequest:
    session.add(request)
    return request
