"""The rules of an obligation's life: who may see and change it, what each action records, its
deadline, extension requests and the escalation ladder planned on the deadline."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from common.calendar import DEADLINE_HORIZON, WorkingCalendar
from common.http import etag, require_if_match
from common.problems import ForbiddenError, UnprocessableError
from common.workflow import WorkflowEngine, history_entry, history_factory
from report_api.access import is_office, is_unit_officer, require_office, require_unit_officer
from report_api.context import Context
from report_api.obligations import repository
from report_api.obligations.errors import (
    ExtensionNotPendingError,
    ExtensionRequestNotFoundError,
    ObligationClosedError,
    ObligationNotFoundError,
)
from report_api.obligations.models import DirectiveRecord, ExtensionRequest, Obligation, ObligationHistory
from report_api.obligations.schemas import (
    DirectiveSummary,
    EvidenceRead,
    ExtensionRead,
    HistoryEntryRead,
    ObligationDetail,
    ObligationPage,
    ObligationRead,
    ReminderCounts,
    ReminderRead,
    SubmissionRead,
)
from report_api.obligations.states import (
    AWAITING_UNIT,
    CLOSED_STATUSES,
    OBLIGATION_WORKFLOW,
    STATUS_LABELS,
    ExtensionStatus,
    ObligationStatus,
)
from report_api.reminders.models import Reminder
from report_api.reminders.states import (
    ESCALATION_AFTER_WORKING_DAYS,
    FOLLOW_UP_COUNT,
    FOLLOW_UP_EVERY_WORKING_DAYS,
    PRE_DEADLINE_WORKING_DAYS,
    REMINDER_LABELS,
    TimerKind,
)
from report_api.submissions.models import Evidence, Submission

ENGINE = WorkflowEngine(
    OBLIGATION_WORKFLOW, model=Obligation, history=history_factory(ObligationHistory, "obligation_id")
)


def record(
    obligation: Obligation, action: str, actor: Principal, *, comment: str | None = None, at: datetime
) -> ObligationHistory:
    """A history row for a change that is not a state transition (creation, new deadline)."""
    return history_entry(
        ObligationHistory,
        "obligation_id",
        obligation,
        action,
        actor,
        from_status=None if action == "assign" else obligation.status,
        to_status=obligation.status,
        definition=OBLIGATION_WORKFLOW,
        comment=comment,
        at=at,
    )


def _within_horizon(day: date, ctx: Context, name: str) -> None:
    """A deadline must lie within five years of today: the ladder of reminders is planned on it."""
    limit = ctx.today() + DEADLINE_HORIZON
    if day > limit:
        raise UnprocessableError(
            f"{name} must not lie after {limit.isoformat()} (five years from today)",
            errors=[{"location": ["body", name], "message": f"at most {limit.isoformat()}"}],
        )


# --- access ------------------------------------------------------------------------------------


async def load(
    session: AsyncSession, obligation_id: uuid.UUID, actor: Principal, ctx: Context, *, lock: bool = False
) -> Obligation:
    """The obligation if ``actor`` may see it; 404 otherwise (other units' items are not disclosed)."""
    office = is_office(actor, ctx.settings)
    if not (office or is_unit_officer(actor)):
        raise ForbiddenError("needs the role unit_officer, monitor or admin")
    obligation = await repository.get_readable(session, obligation_id, office=office, unit=actor.unit, lock=lock)
    if obligation is None:
        raise ObligationNotFoundError(f"no obligation {obligation_id} for you")
    return obligation


async def directive_of(session: AsyncSession, obligation: Obligation) -> DirectiveRecord:
    directive = await repository.directive(session, obligation.directive_id)
    assert directive is not None
    return directive


def is_closed(obligation: Obligation) -> bool:
    return obligation.status in CLOSED_STATUSES


def overdue_days(obligation: Obligation, today: date, calendar: WorkingCalendar) -> int:
    """Working days since the deadline while the unit still owes an answer; 0 otherwise."""
    if obligation.status not in AWAITING_UNIT or today <= obligation.due_on:
        return 0
    return calendar.working_days_between(obligation.due_on, today)


# --- views -------------------------------------------------------------------------------------


def directive_summary(directive: DirectiveRecord) -> DirectiveSummary:
    return DirectiveSummary(
        id=directive.id,
        notation=directive.notation,
        subject=directive.subject,
        issued_on=directive.issued_on,
        status=directive.status,
    )


def counts(obligation: Obligation) -> ReminderCounts:
    return ReminderCounts(
        nhac_nho=obligation.nhac_nho_count, phe_binh=obligation.phe_binh_count, kiem_diem=obligation.kiem_diem_count
    )


def reminder_view(reminder: Reminder) -> ReminderRead:
    return ReminderRead(
        id=reminder.id,
        kind=reminder.kind,
        kind_label=REMINDER_LABELS[reminder.kind],
        sequence=reminder.sequence,
        content=reminder.content,
        source=reminder.source,
        escalated_to=reminder.escalated_to,
        sent_by=reminder.sent_by,
        sent_at=reminder.sent_at,
    )


def read_view(obligation: Obligation, directive: DirectiveRecord, actor: Principal, ctx: Context) -> ObligationRead:
    days = overdue_days(obligation, ctx.today(), ctx.calendar)
    actions = OBLIGATION_WORKFLOW.available(obligation, actor) if not is_closed(obligation) else []
    return ObligationRead(
        id=obligation.id,
        directive=directive_summary(directive),
        unit_code=obligation.unit_code,
        unit_name=obligation.unit_name,
        group_code=obligation.group_code,
        status=obligation.status,
        status_label=STATUS_LABELS[obligation.status],
        version=obligation.version,
        etag=etag(obligation.version),
        due_on=obligation.due_on,
        original_due_on=obligation.original_due_on,
        overdue=days > 0,
        working_days_overdue=days,
        acknowledged_at=obligation.acknowledged_at,
        first_submitted_at=obligation.first_submitted_at,
        accepted_at=obligation.accepted_at,
        submission_count=obligation.submission_count,
        reminder_counts=counts(obligation),
        allowed_actions=actions,
        carried_from_id=obligation.carried_from_id,
    )


@dataclass
class Detail:
    obligation: Obligation
    directive: DirectiveRecord
    history: list[ObligationHistory]
    submissions: list[Submission]
    evidence: list[Evidence]
    extensions: list[ExtensionRequest]
    reminders: list[Reminder]


async def detail(session: AsyncSession, obligation_id: uuid.UUID, actor: Principal, ctx: Context) -> Detail:
    """An obligation with its history, report versions, evidence, extension requests and reminders."""
    obligation = await load(session, obligation_id, actor, ctx)
    oid = obligation.id
    return Detail(
        obligation=obligation,
        directive=await directive_of(session, obligation),
        history=await repository.history_of(session, oid),
        submissions=await repository.submissions_of(session, oid),
        evidence=await repository.evidence_of(session, oid),
        extensions=await repository.extensions_of(session, oid),
        reminders=await repository.reminders_of(session, oid),
    )


async def detail_view(
    session: AsyncSession, obligation_id: uuid.UUID, actor: Principal, ctx: Context
) -> ObligationDetail:
    """The obligation as ``GET /v1/obligations/{id}`` shows it (``etag`` is its ETag header)."""
    d = await detail(session, obligation_id, actor, ctx)
    base = read_view(d.obligation, d.directive, actor, ctx)
    return ObligationDetail(
        **base.model_dump(),
        instructions=(d.directive.compliance or {}).get("instructions"),
        report_schema=d.directive.report_schema,
        history=[HistoryEntryRead.model_validate(h, from_attributes=True) for h in d.history],
        submissions=[SubmissionRead.model_validate(s, from_attributes=True) for s in d.submissions],
        evidence=[EvidenceRead.model_validate(e, from_attributes=True) for e in d.evidence],
        extension_requests=[ExtensionRead.model_validate(x, from_attributes=True) for x in d.extensions],
        reminders=[reminder_view(r) for r in d.reminders],
    )


# --- actions -----------------------------------------------------------------------------------


async def acknowledge(
    session: AsyncSession, obligation_id: uuid.UUID, actor: Principal, ctx: Context, if_match: str | None
) -> ObligationDetail:
    """The unit confirms receipt; answers the obligation as it is now."""
    obligation = await load(session, obligation_id, actor, ctx)
    expected = require_if_match(if_match, obligation.version) if if_match else None
    now = ctx.now()
    await ENGINE.fire(
        session, obligation, "acknowledge", actor, expected_version=expected, values={"acknowledged_at": now}
    )
    repository.emit(session, "obligation.acknowledged", obligation, now)
    return await detail_view(session, obligation_id, actor, ctx)


async def request_extension(
    session: AsyncSession,
    obligation_id: uuid.UUID,
    requested_due_on: date,
    reason: str,
    actor: Principal,
    ctx: Context,
) -> ExtensionRequest:
    """The unit asks for a later deadline (one pending request at a time)."""
    obligation = await load(session, obligation_id, actor, ctx)
    require_unit_officer(actor)
    if obligation.status not in AWAITING_UNIT:
        raise ObligationClosedError(f"no extension while the status is '{obligation.status}'")
    if requested_due_on <= obligation.due_on:
        raise UnprocessableError("the requested deadline must be later than the current one")
    _within_horizon(requested_due_on, ctx, "requested_due_on")
    pending = await repository.pending_extension_id(session, obligation.id)
    if pending is not None:
        raise ExtensionNotPendingError(
            "an extension request is already waiting for a decision", request_id=str(pending)
        )
    request = ExtensionRequest(
        obligation_id=obligation.id,
        requested_due_on=requested_due_on,
        reason=reason,
        status=ExtensionStatus.pending,
        requested_by=actor.id,
        requested_at=ctx.now(),
    )
    session.add(request)
    await session.flush()
    return request


async def decide_extension(
    session: AsyncSession,
    obligation_id: uuid.UUID,
    request_id: uuid.UUID,
    decision: str,
    new_due_on: date | None,
    comment: str | None,
    actor: Principal,
    ctx: Context,
) -> ExtensionRequest:
    """The Office approves (new deadline in working days, ladder re-planned) or denies."""
    require_office(actor, ctx.settings)
    obligation = await load(session, obligation_id, actor, ctx, lock=True)
    request = await repository.extension_for_update(session, obligation.id, request_id)
    if request is None:
        raise ExtensionRequestNotFoundError(f"no extension request {request_id} on this obligation")
    if request.status != ExtensionStatus.pending:
        raise ExtensionNotPendingError(f"the request was already {request.status}")
    now = ctx.now()
    request.decided_by = actor.id
    request.decided_at = now
    request.decision_comment = comment or None
    if decision == "deny":
        request.status = ExtensionStatus.denied
        return request
    if obligation.status not in AWAITING_UNIT:
        raise ObligationClosedError(f"no extension while the status is '{obligation.status}'")
    due = new_due_on or request.requested_due_on
    # A request stored before dates were checked may lie beyond the horizon: the Office can deny
    # it, or approve it with a `new_due_on` within the horizon.
    _within_horizon(due, ctx, "new_due_on" if new_due_on else "requested_due_on")
    if not ctx.calendar.is_working_day(due):
        due = ctx.calendar.next_working_day(due)
    if due <= obligation.due_on:
        raise UnprocessableError("the new deadline must be later than the current one")
    request.status = ExtensionStatus.approved
    request.approved_due_on = due
    obligation.due_on = due
    obligation.overdue_at = None
    obligation.version += 1
    obligation.updated_at = now
    session.add(record(obligation, "extend", actor, comment=f"hạn mới {due.isoformat()}", at=now))
    await repository.cancel_timers(session, obligation.id, now)
    await session.flush()
    s = ctx.settings
    await plan_timers(session, [obligation], calendar=ctx.calendar, hour=s.reminder_hour, timezone=s.timezone)
    return request


# --- the unit's list -----------------------------------------------------------------------------


def _encode_cursor(due_on: date, obligation_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{due_on.isoformat()}|{obligation_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[date, uuid.UUID]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        day, _, ident = text.partition("|")
        return date.fromisoformat(day), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError):
        raise UnprocessableError("invalid cursor") from None


async def my_obligations(
    session: AsyncSession,
    actor: Principal,
    ctx: Context,
    *,
    status: ObligationStatus | None,
    overdue: bool | None,
    due_before: date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Obligation, DirectiveRecord]], str | None]:
    """The unit's inbox ordered by deadline (keyset pagination on ``(due_on, id)``)."""
    unit = require_unit_officer(actor)
    rows = await repository.unit_page(
        session,
        unit,
        today=ctx.today(),
        status=status,
        overdue=overdue,
        due_before=due_before,
        after=_decode_cursor(cursor) if cursor else None,
        limit=limit,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = _encode_cursor(last.due_on, last.id)
    return rows, next_cursor


async def my_obligations_page(
    session: AsyncSession,
    actor: Principal,
    ctx: Context,
    *,
    status: ObligationStatus | None,
    overdue: bool | None,
    due_before: date | None,
    limit: int,
    cursor: str | None,
) -> ObligationPage:
    rows, next_cursor = await my_obligations(
        session, actor, ctx, status=status, overdue=overdue, due_before=due_before, limit=limit, cursor=cursor
    )
    return ObligationPage(items=[read_view(o, d, actor, ctx) for o, d in rows], next_cursor=next_cursor)


# --- the escalation ladder of a deadline ---------------------------------------------------------


def local_moment(day: date, hour: int, timezone: str) -> datetime:
    """``hour``:00 local time on ``day``, in UTC."""
    return datetime.combine(day, time(hour), ZoneInfo(timezone)).astimezone(UTC)


def ladder(due_on: date, calendar: WorkingCalendar) -> list[tuple[TimerKind, int, date]]:
    """The escalation ladder of a deadline: (timer kind, step, day it falls due)."""
    pre = due_on
    for _ in range(PRE_DEADLINE_WORKING_DAYS):
        pre = calendar.previous_working_day(pre)
    steps: list[tuple[TimerKind, int, date]] = [
        (TimerKind.pre_deadline, 0, pre),
        (TimerKind.overdue, 0, calendar.add_working_days(due_on, 1)),
    ]
    for i in range(1, FOLLOW_UP_COUNT + 1):
        steps.append((TimerKind.follow_up, i, calendar.add_working_days(due_on, i * FOLLOW_UP_EVERY_WORKING_DAYS)))
    steps.append((TimerKind.escalation, 0, calendar.add_working_days(due_on, ESCALATION_AFTER_WORKING_DAYS)))
    return steps


def timer_key(obligation_id: uuid.UUID, due_on: date, kind: str, step: int) -> str:
    """The natural key of a ladder step: one per (obligation, deadline, kind, step)."""
    return f"{obligation_id}:{due_on.isoformat()}:{kind}:{step}"


async def plan_timers(
    session: AsyncSession, obligations: list[Obligation], *, calendar: WorkingCalendar, hour: int, timezone: str
) -> None:
    """Create the ladder's timers of each obligation's current deadline (never twice: unique key)."""
    rows: list[dict[str, Any]] = []
    # A dispatch gives thousands of obligations the same deadline: one ladder per distinct deadline.
    ladders: dict[date, list[tuple[TimerKind, int, datetime]]] = {}
    for obligation in obligations:
        steps = ladders.get(obligation.due_on)
        if steps is None:
            steps = [
                (kind, step, local_moment(day, hour, timezone))
                for kind, step, day in ladder(obligation.due_on, calendar)
            ]
            ladders[obligation.due_on] = steps
        for kind, step, due_at in steps:
            rows.append(
                {
                    "key": timer_key(obligation.id, obligation.due_on, kind, step),
                    "obligation_id": obligation.id,
                    "kind": kind,
                    "step": step,
                    "due_at": due_at,
                }
            )
    if rows:
        await repository.insert_timers(session, rows)
