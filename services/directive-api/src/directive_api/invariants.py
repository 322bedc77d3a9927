"""Invariants of directive-api's data, checked on a live or restored database.

Numbers consecutive in every register, history complete and its hash chain intact, stored PDFs
matching their hashes, the outbox consistent. Used by ``directive-api check-invariants`` and by the
backup/restore drill.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from common.audit import verify_chain
from common.storage import FileStore, StoredFileCorruptError
from directive_api.directives.lifecycle import PRE_ISSUE_STATUSES
from directive_api.directives.models import Directive, DirectiveHistory, Register, RegisterEntry
from directive_api.events.models import OutboxEvent, WebhookDelivery
from directive_api.pdfs.models import DirectiveFile

Progress = Callable[[str, int, int], None]
"""Called with (step, done, total) while checking."""


@dataclass
class InvariantReport:
    """What was checked and what is wrong."""

    checked: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _noop(_step: str, _done: int, _total: int) -> None:
    return None


async def check(session: AsyncSession, store: FileStore, *, progress: Progress = _noop) -> InvariantReport:
    """Check every invariant; never changes anything."""
    report = InvariantReport()
    await _registers(session, report)
    await _documents(session, report, progress)
    await _files(session, store, report, progress)
    await _outbox(session, report)
    chain = await verify_chain(session, DirectiveHistory)
    report.checked["history chain entries"] = chain.checked
    report.problems.extend(f"history chain: {p}" for p in chain.problems)
    return report


async def _registers(session: AsyncSession, report: InvariantReport) -> None:
    registers = (await session.scalars(select(Register))).all()
    for register in registers:
        numbers = list(
            await session.scalars(
                select(RegisterEntry.number)
                .where(RegisterEntry.register_id == register.id)
                .order_by(RegisterEntry.number)
            )
        )
        name = f"register {register.issuer_code}/{register.code}/{register.year}"
        if numbers != list(range(1, register.last_number + 1)):
            missing = sorted(set(range(1, register.last_number + 1)) - set(numbers))
            report.problems.append(f"{name}: numbers are not 1..{register.last_number} (missing {missing[:10]})")
    report.checked["registers"] = len(registers)


async def _documents(session: AsyncSession, report: InvariantReport, progress: Progress) -> None:
    total = await session.scalar(select(func.count()).select_from(Directive)) or 0
    last_entries = {
        row.directive_id: row
        for row in (
            await session.execute(
                select(DirectiveHistory.directive_id, DirectiveHistory.version, DirectiveHistory.to_status).where(
                    DirectiveHistory.id.in_(
                        select(func.max(DirectiveHistory.id)).group_by(DirectiveHistory.directive_id)
                    )
                )
            )
        ).all()
    }
    counts = dict(
        (
            await session.execute(
                select(DirectiveHistory.directive_id, func.count()).group_by(DirectiveHistory.directive_id)
            )
        ).all()
    )
    entries = {e.directive_id: e for e in (await session.scalars(select(RegisterEntry))).all()}
    done = 0
    async for directive in await session.stream_scalars(select(Directive)):
        done += 1
        progress("documents", done, total)
        name = f"document {directive.id} ({directive.notation or directive.status})"
        last = last_entries.get(directive.id)
        if last is None:
            report.problems.append(f"{name}: has no history")
            continue
        if last.version != directive.version or last.to_status != directive.status:
            report.problems.append(
                f"{name}: history ends at version {last.version} '{last.to_status}', "
                f"the document is at version {directive.version} '{directive.status}'"
            )
        if counts.get(directive.id) != directive.version:
            report.problems.append(
                f"{name}: {counts.get(directive.id)} history entries for {directive.version} versions"
            )
        if directive.status not in PRE_ISSUE_STATUSES:
            entry = entries.get(directive.id)
            if directive.number is None or entry is None or entry.number != directive.number:
                report.problems.append(f"{name}: issued but not registered under its number")
            if not directive.issued_sha256:
                report.problems.append(f"{name}: issued without an issued PDF")
    report.checked["documents"] = done


async def _files(session: AsyncSession, store: FileStore, report: InvariantReport, progress: Progress) -> None:
    total = await session.scalar(select(func.count()).select_from(DirectiveFile)) or 0
    done = 0
    async for record in await session.stream_scalars(select(DirectiveFile)):
        done += 1
        progress("stored PDFs", done, total)
        try:
            store.get(record.sha256)
        except FileNotFoundError:
            report.problems.append(f"stored PDF {record.sha256} ({record.kind} of {record.directive_id}) is missing")
        except StoredFileCorruptError:
            report.problems.append(
                f"stored PDF {record.sha256} ({record.kind} of {record.directive_id}) does not match its hash"
            )
    report.checked["stored PDFs"] = done


async def _outbox(session: AsyncSession, report: InvariantReport) -> None:
    sequences = list(
        await session.scalars(
            select(OutboxEvent.sequence).where(OutboxEvent.sequence.is_not(None)).order_by(OutboxEvent.sequence)
        )
    )
    if sequences != list(range(1, len(sequences) + 1)):
        report.problems.append("outbox: event sequences are not consecutive from 1")
    orphans = await session.scalar(
        select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.event_id.not_in(select(OutboxEvent.id)))
    )
    if orphans:
        report.problems.append(f"outbox: {orphans} deliveries refer to no event")
    report.checked["outbox events"] = len(sequences)
