"""Every SQL statement of the pdfs slice: stored files, stored verdicts, and the lookups of
documents and directory entries that rendering and public verification need."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from directive_api.directives.models import Directive
from directive_api.directives.states import ISSUED_STATUSES
from directive_api.orgs.models import Unit, UnitGroup
from directive_api.pdfs.models import DirectiveFile, FileKind, PdfVerdict
from directive_api.people.models import Person


async def add_file(session: AsyncSession, record: DirectiveFile) -> DirectiveFile:
    session.add(record)
    await session.flush()
    return record


async def latest_file(session: AsyncSession, directive_id: uuid.UUID, kind: FileKind) -> DirectiveFile | None:
    """The newest stored file of one kind."""
    statement = (
        select(DirectiveFile)
        .where(DirectiveFile.directive_id == directive_id, DirectiveFile.kind == kind)
        .order_by(DirectiveFile.id.desc())
        .limit(1)
    )
    return (await session.scalars(statement)).first()


async def file_with_hash(session: AsyncSession, digest: str) -> DirectiveFile | None:
    """A stored file (any kind, any document) with these bytes."""
    return await session.scalar(select(DirectiveFile).where(DirectiveFile.sha256 == digest).limit(1))


async def save_verdict(session: AsyncSession, values: dict[str, Any]) -> None:
    """Insert or replace the stored verdict of one SHA-256."""
    upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = upsert(PdfVerdict).values(**values)
    await session.execute(statement.on_conflict_do_update(index_elements=[PdfVerdict.sha256], set_=values))


async def verdict(session: AsyncSession, digest: str) -> PdfVerdict | None:
    return await session.get(PdfVerdict, digest)


async def directive(session: AsyncSession, directive_id: uuid.UUID) -> Directive | None:
    return await session.get(Directive, directive_id)


async def issued_with_public_id(session: AsyncSession, public_id: str) -> Directive | None:
    """The issued document behind a QR code (never a draft, never one without its e-original)."""
    found = await session.scalar(select(Directive).where(Directive.public_id == public_id))
    return found if found is not None and found.status in ISSUED_STATUSES and found.issued_sha256 else None


async def issued_with_hash(session: AsyncSession, digest: str) -> Directive | None:
    """The issued document whose e-original has these bytes."""
    found = await session.scalar(select(Directive).where(Directive.issued_sha256 == digest).limit(1))
    return found if found is not None and found.status in ISSUED_STATUSES else None


async def unit(session: AsyncSession, code: str) -> Unit | None:
    return await session.get(Unit, code)


async def person(session: AsyncSession, person_id: str) -> Person | None:
    return await session.get(Person, person_id)


async def groups_and_units(
    session: AsyncSession, group_codes: Collection[str], unit_codes: Collection[str]
) -> tuple[dict[str, UnitGroup], dict[str, Unit]]:
    """The named groups and units, by code (two statements, however many are named)."""
    groups = {g.code: g for g in await session.scalars(select(UnitGroup).where(UnitGroup.code.in_(group_codes)))}
    units = {u.code: u for u in await session.scalars(select(Unit).where(Unit.code.in_(unit_codes)))}
    return groups, units
