"""Every SQL statement of the directives slice: documents, their recipients, history and registers.

Access scoping is a statement here (:func:`readable_statement`), so that lists are filtered in the
database; the rule behind it is the one :func:`is_addressed_to` applies to a single document.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, delete, func, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from common.auth import Principal
from directive_api.deliveries.models import Delivery
from directive_api.directives.models import (
    Directive,
    DirectiveHistory,
    DirectiveRecipient,
    Register,
    RegisterEntry,
    recipient_keys,
)
from directive_api.directives.states import OFFICE_ROLES, PRE_ISSUE_STATUSES, DirectiveStatus, Role
from directive_api.events.repository import addressed_to
from directive_api.orgs.models import Unit, UnitGroup
from directive_api.people.models import Person

Reader = AsyncSession | AsyncConnection
"""Where a read runs: the request's ORM session, or a read-only connection."""

DirectiveRecord = Directive | Row[Any]
"""A document as an ORM object, or as a Core row of the ``directives`` table (same attribute names)."""

_DIRECTIVES = Directive.__table__


# --- documents -------------------------------------------------------------------------------


async def get(session: AsyncSession, directive_id: uuid.UUID) -> Directive | None:
    return await session.get(Directive, directive_id)


async def get_row(connection: AsyncConnection, directive_id: uuid.UUID) -> Row[Any] | None:
    """The document as a Core row (no ORM object: the read-only path)."""
    statement = select(_DIRECTIVES).where(_DIRECTIVES.c.id == directive_id)
    return (await connection.execute(statement)).one_or_none()


async def add(session: AsyncSession, directive: Directive, history: DirectiveHistory) -> None:
    """A new document, its first history entry and its recipients."""
    session.add(directive)
    session.add(history)
    await session.flush()
    await save_recipients(session, directive)


async def save_recipients(session: AsyncSession, directive: Directive) -> None:
    """Write ``directive_recipients`` from the document's addressees and information recipients.

    Called whenever either changes: the table is what :func:`readable_statement` filters on.
    """
    await session.execute(delete(DirectiveRecipient).where(DirectiveRecipient.directive_id == directive.id))
    keys = recipient_keys(directive.addressee_entries, directive.info_recipient_entries)
    if keys:
        await session.execute(
            insert(DirectiveRecipient),
            [{"directive_id": directive.id, "kind": kind, "code": code} for kind, code in sorted(keys)],
        )


async def add_history(session: AsyncSession, history: DirectiveHistory) -> None:
    session.add(history)
    await session.flush()


async def history(session: AsyncSession, directive_id: uuid.UUID) -> Sequence[DirectiveHistory]:
    statement = (
        select(DirectiveHistory).where(DirectiveHistory.directive_id == directive_id).order_by(DirectiveHistory.id)
    )
    return (await session.scalars(statement)).all()


async def due_for_dispatch(session: AsyncSession, *, now: datetime, limit: int) -> Sequence[uuid.UUID]:
    """Issued documents whose dispatch time has come, locked for this transaction.

    Replicas of the timer share the work: each locks the documents it takes and skips the ones
    another has taken (PostgreSQL; SQLite's write lock lets one timer run at a time).
    """
    statement = (
        select(Directive.id)
        .where(Directive.status == DirectiveStatus.issued, Directive.dispatch_due_at <= now)
        .order_by(Directive.dispatch_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()


# --- who may read what -----------------------------------------------------------------------


def readable_statement(actor: Principal) -> Select[Directive] | None:
    """The documents ``actor`` may see (polar's ``get_readable_statement``); None: no list at all.

    Office staff see their unit's own documents; a unit officer sees issued documents addressed or
    copied to their unit (never drafts). A principal with both kinds of role (a unit's e-office:
    integration and unit_officer) sees both, as ``events.visibility.ensure_readable`` reads one.
    """
    if not actor.unit:
        return None
    clauses: list[ColumnElement[bool]] = []
    if actor.has_any(*OFFICE_ROLES):
        clauses.append(Directive.issuer_code == actor.unit)
    if actor.has_any(Role.unit_officer.value):
        clauses.append(and_(Directive.status.not_in(sorted(PRE_ISSUE_STATUSES)), addressed_to(actor.unit)))
    if not clauses:
        return None
    return select(Directive).where(clauses[0] if len(clauses) == 1 else or_(*clauses))


async def page(
    session: AsyncSession,
    readable: Select[Directive],
    *,
    status: DirectiveStatus | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Directive]:
    """Up to ``limit`` documents of ``readable``, newest first, after a keyset position: one statement."""
    statement = readable.order_by(Directive.created_at.desc(), Directive.id.desc())
    if status is not None:
        statement = statement.where(Directive.status == status)
    if after is not None:
        created, ident = after
        statement = statement.where(
            (Directive.created_at < created) | ((Directive.created_at == created) & (Directive.id < ident))
        )
    return list((await session.scalars(statement.limit(limit))).all())


# --- the directory, as drafting needs it ------------------------------------------------------


async def unit(session: AsyncSession, code: str) -> Unit | None:
    return await session.get(Unit, code)


async def person(session: AsyncSession, person_id: str) -> Person | None:
    return await session.get(Person, person_id)


# --- registers -------------------------------------------------------------------------------


async def allocate_number(session: AsyncSession, *, issuer_code: str, code: str, year: int) -> tuple[int, int]:
    """The next number of a register, taken inside the caller's transaction.

    The counter row is incremented with an upsert, which locks it until the transaction ends: a
    concurrent issue waits, and a rollback gives the number back. Returns (register id, number).
    """
    dialect = session.get_bind().dialect.name
    upsert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        upsert(Register)
        .values(issuer_code=issuer_code, code=code, year=year, last_number=1)
        .on_conflict_do_update(
            index_elements=[Register.issuer_code, Register.code, Register.year],
            set_={"last_number": Register.last_number + 1},
        )
        .returning(Register.id, Register.last_number)
    )
    row = (await session.execute(statement)).one()
    return int(row[0]), int(row[1])


async def add_register_entry(session: AsyncSession, entry: RegisterEntry) -> None:
    session.add(entry)
    await session.flush()


async def register(session: AsyncSession, *, issuer_code: str, code: str, year: int) -> Register | None:
    return await session.scalar(
        select(Register).where(Register.issuer_code == issuer_code, Register.code == code, Register.year == year)
    )


async def register_entries(session: AsyncSession, register_id: int) -> Sequence[RegisterEntry]:
    statement = select(RegisterEntry).where(RegisterEntry.register_id == register_id).order_by(RegisterEntry.number)
    return (await session.scalars(statement)).all()


async def registers_of(session: AsyncSession, issuer_code: str) -> Sequence[Register]:
    statement = select(Register).where(Register.issuer_code == issuer_code).order_by(Register.year, Register.code)
    return (await session.scalars(statement)).all()


async def directives_by_id(session: AsyncSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Directive]:
    return {d.id: d for d in (await session.scalars(select(Directive).where(Directive.id.in_(ids)))).all()}


async def delivery_counts(session: AsyncSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many deliveries each document went out in (the register's "số lượng bản")."""
    statement = select(Delivery.directive_id, func.count()).where(Delivery.directive_id.in_(ids))
    statement = statement.group_by(Delivery.directive_id)
    return {row[0]: int(row[1]) for row in (await session.execute(statement)).all()}


async def group_names(session: AsyncSession) -> dict[str, str]:
    return {g.code: g.name for g in (await session.scalars(select(UnitGroup))).all()}


async def units_by_code(session: AsyncSession, codes: Collection[str]) -> dict[str, Unit]:
    return {u.code: u for u in (await session.scalars(select(Unit).where(Unit.code.in_(codes)))).all()}
