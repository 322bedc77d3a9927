"""Tamper-evident history: each entry commits to the previous one (a hash chain).

A service's history table mixes in :class:`AuditChainMixin` and names the columns that the hash
covers in ``__audit_fields__``. Whenever a session flushes new entries, they are chained in the
same transaction: appends are serialised (a transaction-scoped advisory lock on PostgreSQL; on
SQLite every write transaction already holds the database's write lock), each entry gets the next
``chain_seq``, the previous entry's hash, and its own hash over both. The services' migrations add
triggers that refuse UPDATE and DELETE on these tables, and :func:`verify_chain` recomputes the
chain and pinpoints the first entry that was changed, removed or inserted out of band.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, String, event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from common.db import advisory_lock, utc_now

GENESIS = "0" * 64


class AuditChainMixin:
    """Chain columns of an append-only history table."""

    __audit_fields__: ClassVar[tuple[str, ...]] = ()

    chain_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True, nullable=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entry_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    return value


def entry_digest(prev_hash: str, seq: int, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous hash, the position and the entry's fields (canonical JSON)."""
    payload = json.dumps(
        {"prev": prev_hash, "seq": seq, "fields": _canonical(fields)}, sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _fields(entry: AuditChainMixin) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in type(entry).__audit_fields__}


def _normalise_times(entry: AuditChainMixin) -> None:
    # Timestamps are hashed as stored: microsecond precision in UTC.
    for name in type(entry).__audit_fields__:
        value = getattr(entry, name)
        if isinstance(value, datetime) and value.tzinfo is not None:
            setattr(entry, name, value.astimezone(utc_now().tzinfo))


def _chain_new_entries(session: Session, _context: Any, _instances: Any) -> None:
    pending = [obj for obj in session.new if isinstance(obj, AuditChainMixin) and obj.chain_seq is None]
    if not pending:
        return
    by_table: dict[type[AuditChainMixin], list[AuditChainMixin]] = {}
    for obj in pending:
        by_table.setdefault(type(obj), []).append(obj)
    with session.no_autoflush:
        for model, entries in by_table.items():
            table = model.__tablename__  # type: ignore[attr-defined]
            connection = session.connection()
            advisory_lock(connection, f"audit:{table}")
            last = connection.execute(
                select(model.chain_seq, model.entry_hash).order_by(model.chain_seq.desc()).limit(1)
            ).first()
            seq, prev = (int(last[0]), str(last[1])) if last is not None and last[0] is not None else (0, GENESIS)
            entries.sort(key=lambda e: getattr(e, "_sa_instance_state").insert_order or 0)  # noqa: B009
            for entry in entries:
                if getattr(entry, "at", "missing") is None:
                    entry.at = utc_now()  # type: ignore[attr-defined]
                _normalise_times(entry)
                seq += 1
                entry.chain_seq = seq
                entry.prev_hash = prev
                entry.entry_hash = entry_digest(prev, seq, _fields(entry))
                prev = entry.entry_hash


event.listen(Session, "before_flush", _chain_new_entries)


@dataclass
class ChainReport:
    """The result of :func:`verify_chain`."""

    table: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None

    @property
    def ok(self) -> bool:
        """True when every entry is intact and linked."""
        return not self.problems


async def verify_chain(session: AsyncSession, model: type[AuditChainMixin], *, limit_problems: int = 20) -> ChainReport:
    """Recompute the chain of ``model``'s table and report where it breaks.

    Detects a changed entry (its hash no longer matches), a removed one (a gap in ``chain_seq`` or
    a ``prev_hash`` that points to nothing), and an entry written without chaining.
    """
    report = ChainReport(table=model.__tablename__)  # type: ignore[attr-defined]
    unchained = await session.scalar(select(model).where(model.chain_seq.is_(None)).limit(1))
    if unchained is not None:
        report.problems.append("an entry has no chain position (written outside the chain)")
    prev, expected_seq = GENESIS, 1
    result = await session.stream_scalars(select(model).where(model.chain_seq.is_not(None)).order_by(model.chain_seq))
    async for entry in result:
        seq = int(entry.chain_seq or 0)
        report.checked += 1
        problem = None
        if seq != expected_seq:
            problem = f"entries {expected_seq}..{seq - 1} are missing (removed)"
        elif entry.prev_hash != prev:
            problem = f"entry {seq} does not follow entry {seq - 1} (an entry before it was changed or removed)"
        elif entry.entry_hash != entry_digest(prev, seq, _fields(entry)):
            problem = f"entry {seq} was changed after it was written"
        if problem is not None:
            report.problems.append(problem)
            report.first_bad_seq = report.first_bad_seq or seq
            if len(report.problems) >= limit_problems:
                break
        prev, expected_seq = entry.entry_hash or "", seq + 1
    return report
