"""What a unit keeps when its document is replaced or corrected (đính chính).

A successor document (the replacement, or a đính chính that restates the request with its own
compliance block) is linked to its predecessor (``directives.carries_from``). Each unit addressed
by both gets its predecessor obligation's progress on the successor's obligation, once
(``obligations.carried_from_id`` is unique), whichever of the two events arrives first: the
replacement/correction event carries over to the successor's obligations that exist; the
successor's dispatch carries over to the obligations it creates.

*Same request* (the successor's report template, ``compliance.report_fields``, equals the
predecessor's): the acknowledgement, every report version with its review (pending, returned or
accepted) and its evidence, the extension requests (decided ones copied, a pending one moved) and
an approved extension's deadline when later than the successor's, and the reminder counters.
*Changed template*: the acknowledgement and the reminder counters only; the unit reports again,
on the new template, by the successor's deadline. Either way both obligations get a history row
naming the other, and the successor's obligation points at the predecessor's.

A successor obligation that already has progress of its own (the unit acknowledged or reported on
the successor before the replacement was announced) keeps its own state; it still gets the link,
the counters, the extensions and the history rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.calendar import WorkingCalendar
from report_api.carryover import repository
from report_api.obligations.models import DirectiveRecord, ExtensionRequest, Obligation, ObligationHistory
from report_api.obligations.repository import cancel_timers, emit
from report_api.obligations.service import plan_timers, record
from report_api.obligations.states import SYSTEM, WITHDRAWN, ExtensionStatus, ObligationStatus
from report_api.settings import Settings
from report_api.submissions.models import Evidence, ReviewStatus, Submission

S = ObligationStatus
_REVIEW_TO_STATUS = {
    ReviewStatus.pending: S.submitted,
    ReviewStatus.accepted: S.accepted,
    ReviewStatus.returned: S.returned,
}
_STATUS_EVENT = {
    S.acknowledged: "obligation.acknowledged",
    S.submitted: "obligation.submitted",
    S.accepted: "obligation.accepted",
    S.returned: "obligation.returned",
}
_REVIEW_LABELS = {
    ReviewStatus.pending: "chờ duyệt",
    ReviewStatus.accepted: "đã duyệt",
    ReviewStatus.returned: "bị trả lại",
}
_COUNTERS = ("nhac_nho_count", "phe_binh_count", "kiem_diem_count")
KINDS = ("replacement", "correction")


@dataclass(frozen=True)
class CarryContext:
    settings: Settings
    calendar: WorkingCalendar
    now: datetime


def same_request(predecessor: DirectiveRecord, successor: DirectiveRecord) -> bool:
    """Whether the successor asks for the same report (its template's fields are the predecessor's)."""
    before = (predecessor.compliance or {}).get("report_fields")
    after = (successor.compliance or {}).get("report_fields")
    return before is not None and before == after


def name_of(directive: DirectiveRecord) -> str:
    return directive.notation or directive.id


def progress_of(obligation: Obligation, latest: Submission | None) -> ObligationStatus:
    """Where the unit had got on ``obligation`` before it was closed by the replacement."""
    if obligation.status not in WITHDRAWN:
        return ObligationStatus(obligation.status)
    if latest is not None:
        return _REVIEW_TO_STATUS[ReviewStatus(latest.review_status)]
    return S.acknowledged if obligation.acknowledged_at is not None else S.assigned


async def link(
    session: AsyncSession,
    predecessor: DirectiveRecord,
    successor: DirectiveRecord,
    kind: str,
    ctx: CarryContext,
) -> int:
    """Record that ``successor`` takes over ``predecessor``'s request and carry what can be carried now."""
    assert kind in KINDS
    successor.carries_from = predecessor.id
    successor.carry_kind = kind
    await session.flush()
    return await carry_pending(session, predecessor, successor, ctx)


async def carry_pending(
    session: AsyncSession,
    predecessor: DirectiveRecord,
    successor: DirectiveRecord,
    ctx: CarryContext,
    *,
    units: Collection[str] | None = None,
) -> int:
    """Carry every pair of obligations (same unit) not carried yet; returns how many were."""
    keep = same_request(predecessor, successor)
    pairs = await repository.pending_pairs(session, predecessor.id, successor.id, units=units)
    for old, new in pairs:
        await _carry(session, old, new, keep=keep, predecessor=predecessor, successor=successor, ctx=ctx)
    return len(pairs)


async def carry_into_new(session: AsyncSession, successor: DirectiveRecord, units: list[str], ctx: CarryContext) -> int:
    """After the successor's dispatch created obligations: carry from its predecessor, if it has one."""
    predecessor = await repository.predecessor_of(session, successor)
    if predecessor is None or not units:
        return 0
    return await carry_pending(session, predecessor, successor, ctx, units=units)


def _copy_evidence(items: list[Evidence], target: uuid.UUID) -> tuple[list[Evidence], dict[str, str]]:
    copies: list[Evidence] = []
    ids: dict[str, str] = {}
    for item in items:
        copy = Evidence(
            id=uuid.uuid4(),
            obligation_id=target,
            filename=item.filename,
            media_type=item.media_type,
            size_bytes=item.size_bytes,
            sha256=item.sha256,
            storage_key=item.storage_key,  # the same stored file: evidence files are never rewritten
            uploaded_by=item.uploaded_by,
            uploaded_at=item.uploaded_at,
        )
        copies.append(copy)
        ids[str(item.id)] = str(copy.id)
    return copies, ids


def _remap(data: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """The report with its evidence ids replaced by those of the copies (evidence fields are id lists)."""
    return {
        key: [ids.get(v, v) if isinstance(v, str) else v for v in value] if isinstance(value, list) else value
        for key, value in data.items()
    }


def _copy_submission(item: Submission, target: uuid.UUID, ids: dict[str, str]) -> Submission:
    return Submission(
        id=uuid.uuid4(),
        obligation_id=target,
        version=item.version,
        data=_remap(item.data, ids),
        evidence_ids=[ids.get(e, e) for e in item.evidence_ids],
        late=item.late,
        submitted_by=item.submitted_by,
        submitted_at=item.submitted_at,
        review_status=item.review_status,
        review_comment=item.review_comment,
        reviewed_by=item.reviewed_by,
        reviewed_at=item.reviewed_at,
    )


def _copy_extension(item: ExtensionRequest, target: uuid.UUID) -> ExtensionRequest:
    return ExtensionRequest(
        id=uuid.uuid4(),
        obligation_id=target,
        requested_due_on=item.requested_due_on,
        reason=item.reason,
        status=item.status,
        requested_by=item.requested_by,
        requested_at=item.requested_at,
        approved_due_on=item.approved_due_on,
        decision_comment=item.decision_comment,
        decided_by=item.decided_by,
        decided_at=item.decided_at,
    )


async def _carry(
    session: AsyncSession,
    old: Obligation,
    new: Obligation,
    *,
    keep: bool,
    predecessor: DirectiveRecord,
    successor: DirectiveRecord,
    ctx: CarryContext,
) -> None:
    now = ctx.now
    fresh = new.status == S.assigned and new.submission_count == 0
    submissions = await repository.submissions_of(session, old.id)
    state = progress_of(old, submissions[-1] if submissions else None)
    from_status = new.status
    due_before = new.due_on
    notes: list[str] = []
    new.carried_from_id = old.id

    for counter in _COUNTERS:
        setattr(new, counter, getattr(new, counter) + getattr(old, counter))
    reminders = sum(getattr(old, c) for c in _COUNTERS)
    if reminders:
        notes.append(f"{reminders} lần đôn đốc")

    if keep:
        own_pending = any(x.status == ExtensionStatus.pending for x in await repository.extensions_of(session, new.id))
        for item in await repository.extensions_of(session, old.id):
            if item.status == ExtensionStatus.pending and not own_pending and state not in (S.submitted, S.accepted):
                item.obligation_id = new.id  # still to be decided: on the obligation the unit now answers
                notes.append(f"đề nghị gia hạn đến {item.requested_due_on:%d/%m/%Y} chờ quyết định")
            elif item.status != ExtensionStatus.pending:
                session.add(_copy_extension(item, new.id))
        if old.due_on > old.original_due_on and old.due_on > new.due_on:
            new.due_on = old.due_on
            notes.append(f"hạn đã gia hạn {old.due_on:%d/%m/%Y}")

    if fresh:
        if old.acknowledged_at is not None:
            new.acknowledged_at = old.acknowledged_at
            new.status = S.acknowledged
            notes.append("đã tiếp nhận")
        if keep and submissions:
            evidence, ids = _copy_evidence(await repository.evidence_of(session, old.id), new.id)
            session.add_all(evidence)
            session.add_all(_copy_submission(s, new.id, ids) for s in submissions)
            new.submission_count = old.submission_count
            new.first_submitted_at = old.first_submitted_at
            new.first_submission_late = old.first_submission_late
            new.accepted_at = old.accepted_at
            new.status = state
            notes.append(f"{len(submissions)} lần báo cáo, lần cuối {_REVIEW_LABELS[submissions[-1].review_status]}")
        elif submissions:
            notes.append("mẫu báo cáo thay đổi: đơn vị báo cáo lại theo mẫu mới")

    new.version += 1
    new.updated_at = now
    if new.due_on != due_before:
        new.overdue_at = None
    await session.flush()
    session.add(
        ObligationHistory(
            obligation_id=new.id,
            action="carry_over",
            from_status=from_status,
            to_status=new.status,
            actor_id=SYSTEM.id,
            actor_name=SYSTEM.name,
            actor_roles=sorted(SYSTEM.roles),
            comment=f"Chuyển từ {name_of(predecessor)}" + (f": {'; '.join(notes)}" if notes else ""),
            version=new.version,
            workflow="obligation",
            workflow_version=1,
            at=now,
        )
    )
    session.add(record(old, "carried_over", SYSTEM, comment=f"Chuyển sang {name_of(successor)}", at=now))

    if new.status == S.accepted or new.due_on != due_before:
        await cancel_timers(session, new.id, now)
    if new.status != S.accepted and new.due_on != due_before:
        await session.flush()
        s = ctx.settings
        await plan_timers(session, [new], calendar=ctx.calendar, hour=s.reminder_hour, timezone=s.timezone)

    event = _STATUS_EVENT.get(new.status)
    if event is not None and new.status != from_status:
        extra: dict[str, Any] = {"carried_from_obligation_id": str(old.id), "carried_from_directive_id": predecessor.id}
        if submissions and new.status != S.acknowledged:
            latest = submissions[-1]
            extra["submission_version"] = latest.version
            if new.status == S.submitted:
                extra["late"] = latest.late
            else:
                extra["comment"] = latest.review_comment
        emit(session, event, new, now, **extra)
