"""The rules of an obligation's life: who may see and change it, and what each action records."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from common.auth import Principal
from common.calendar import DEADLINE_HORIZON, WorkingCalendar
from common.http import require_if_match
from common.problems import ForbiddenError, UnprocessableError
from common.workflow import WorkflowEngine, history_entry, history_factory
from report_api.obligations import templates
from report_api.obligations.errors import (
    ExtensionNotPendingError,
    ExtensionRequestNotFoundError,
    ObligationClosedError,
    ObligationNotFoundError,
    OfficeOnlyError,
    UnitOnlyError,
)
from report_api.obligations.lifecycle import (
    AWAITING_UNIT,
    OBLIGATION_WORKFLOW,
    OFFICE_ROLES,
    ObligationStatus,
    Role,
)
from report_api.obligations.models import (
    DirectiveRecord,
    Evidence,
    ExtensionRequest,
    Obligation,
    ObligationHistory,
    Reminder,
    Submission,
)
from report_api.obligations.outbox import emit
from report_api.obligations.reminders import cancel_timers, plan_timers, send_reminder
from report_api.settings import Settings

Clock = Callable[[], datetime]


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


@dataclass(frozen=True)
class Context:
    """What every action needs besides the session: settings, clock and calendar."""

    settings: Settings
    clock: Clock
    calendar: WorkingCalendar

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().astimezone(ZoneInfo(self.settings.timezone)).date()


def _within_horizon(day: date, ctx: Context, name: str) -> None:
    """A deadline must lie within five years of today: the ladder of reminders is planned on it."""
    limit = ctx.today() + DEADLINE_HORIZON
    if day > limit:
        raise UnprocessableError(
            f"{name} must not lie after {limit.isoformat()} (five years from today)",
            errors=[{"location": ["body", name], "message": f"at most {limit.isoformat()}"}],
        )


# --- access ------------------------------------------------------------------------------------


def is_office(actor: Principal, settings: Settings) -> bool:
    """A monitor or admin of the Office."""
    return actor.has_any(*OFFICE_ROLES) and actor.unit == settings.office_unit_code


def is_unit_officer(actor: Principal) -> bool:
    """An officer answering for a unit (the token names the unit)."""
    return actor.has_any(Role.unit_officer.value) and bool(actor.unit)


def require_office(actor: Principal, settings: Settings) -> None:
    """403 unless the caller follows compliance for the Office."""
    if not is_office(actor, settings):
        raise OfficeOnlyError(f"needs the role monitor or admin of unit {settings.office_unit_code}")


def require_unit_officer(actor: Principal) -> str:
    """403 unless the caller answers for a unit; returns the unit code."""
    if not is_unit_officer(actor):
        raise UnitOnlyError("needs the role unit_officer and a 'unit' claim")
    assert actor.unit is not None
    return actor.unit


def scoped(statement: Select[Any], actor: Principal, settings: Settings) -> Select[Any]:
    """Restrict a query of obligations to what ``actor`` may see (office: all; unit: its own)."""
    if is_office(actor, settings):
        return statement
    if is_unit_officer(actor):
        return statement.where(Obligation.unit_code == actor.unit)
    raise ForbiddenError("needs the role unit_officer, monitor or admin")


async def load(
    session: AsyncSession, obligation_id: uuid.UUID, actor: Principal, settings: Settings, *, lock: bool = False
) -> Obligation:
    """The obligation if ``actor`` may see it; 404 otherwise (other units' items are not disclosed)."""
    statement = scoped(select(Obligation).where(Obligation.id == obligation_id), actor, settings)
    if lock:
        statement = statement.with_for_update()
    obligation: Obligation | None = await session.scalar(statement)
    if obligation is None:
        raise ObligationNotFoundError(f"no obligation {obligation_id} for you")
    return obligation


async def directive_of(session: AsyncSession, obligation: Obligation) -> DirectiveRecord:
    directive = await session.get(DirectiveRecord, obligation.directive_id)
    assert directive is not None
    return directive


def overdue_days(obligation: Obligation, today: date, calendar: WorkingCalendar) -> int:
    """Working days since the deadline while the unit still owes an answer; 0 otherwise."""
    if obligation.status not in AWAITING_UNIT or today <= obligation.due_on:
        return 0
    return calendar.working_days_between(obligation.due_on, today)


# --- actions -----------------------------------------------------------------------------------


async def acknowledge(
    session: AsyncSession, obligation_id: uuid.UUID, actor: Principal, ctx: Context, if_match: str | None
) -> Obligation:
    """The unit confirms receipt."""
    obligation = await load(session, obligation_id, actor, ctx.settings)
    expected = require_if_match(if_match, obligation.version) if if_match else None
    now = ctx.now()
    await ENGINE.fire(
        session, obligation, "acknowledge", actor, expected_version=expected, values={"acknowledged_at": now}
    )
    emit(session, "obligation.acknowledged", obligation, now)
    return obligation


async def submit(
    session: AsyncSession,
    obligation_id: uuid.UUID,
    data: dict[str, Any],
    actor: Principal,
    ctx: Context,
    if_match: str | None,
) -> Submission:
    """The unit submits (or resubmits) its report; each submission is kept as a new version."""
    obligation = await load(session, obligation_id, actor, ctx.settings)
    expected = require_if_match(if_match, obligation.version) if if_match else None
    OBLIGATION_WORKFLOW.check(obligation, OBLIGATION_WORKFLOW.get("submit"), actor, {"comment": None})
    directive = await directive_of(session, obligation)
    fields = templates.parse_fields((directive.compliance or {}).get("report_fields"))
    clean, evidence_ids = templates.validate_report(fields, data)
    if evidence_ids:
        found = set(
            (
                await session.scalars(
                    select(Evidence.id).where(
                        Evidence.obligation_id == obligation.id,
                        Evidence.id.in_([uuid.UUID(e) for e in evidence_ids]),
                    )
                )
            ).all()
        )
        missing = [e for e in evidence_ids if uuid.UUID(e) not in found]
        if missing:
            raise UnprocessableError(
                "the report cites evidence that was not uploaded to this obligation", missing_evidence=missing
            )
    now = ctx.now()
    late = ctx.today() > obligation.due_on
    version = obligation.submission_count + 1
    values: dict[str, Any] = {"submission_count": version}
    if obligation.first_submitted_at is None:
        values.update(first_submitted_at=now, first_submission_late=late)
    await ENGINE.fire(session, obligation, "submit", actor, expected_version=expected, values=values)
    submission = Submission(
        obligation_id=obligation.id,
        version=version,
        data=clean,
        evidence_ids=evidence_ids,
        late=late,
        submitted_by=actor.id,
        submitted_at=now,
        review_status="pending",
    )
    session.add(submission)
    emit(session, "obligation.submitted", obligation, now, submission_version=version, late=late)
    await session.flush()
    return submission


async def review(
    session: AsyncSession,
    obligation_id: uuid.UUID,
    decision: str,
    comment: str | None,
    actor: Principal,
    ctx: Context,
    if_match: str | None,
) -> Obligation:
    """The Office accepts the latest report, or returns it with a comment."""
    require_office(actor, ctx.settings)
    obligation = await load(session, obligation_id, actor, ctx.settings)
    expected = require_if_match(if_match, obligation.version) if if_match else None
    now = ctx.now()
    action = "accept" if decision == "accept" else "return"
    values = {"accepted_at": now} if action == "accept" else {}
    await ENGINE.fire(
        session, obligation, action, actor, expected_version=expected, comment=comment or None, values=values
    )
    latest = await session.scalar(
        select(Submission).where(Submission.obligation_id == obligation.id).order_by(Submission.version.desc()).limit(1)
    )
    assert latest is not None
    latest.review_status = "accepted" if action == "accept" else "returned"
    latest.review_comment = comment or None
    latest.reviewed_by = actor.id
    latest.reviewed_at = now
    if action == "accept":
        await cancel_timers(session, obligation.id, now)
    emit(
        session,
        f"obligation.{'accepted' if action == 'accept' else 'returned'}",
        obligation,
        now,
        submission_version=latest.version,
        comment=comment or None,
    )
    return obligation


async def request_extension(
    session: AsyncSession,
    obligation_id: uuid.UUID,
    requested_due_on: date,
    reason: str,
    actor: Principal,
    ctx: Context,
) -> ExtensionRequest:
    """The unit asks for a later deadline (one pending request at a time)."""
    obligation = await load(session, obligation_id, actor, ctx.settings)
    require_unit_officer(actor)
    if obligation.status not in AWAITING_UNIT:
        raise ObligationClosedError(f"no extension while the status is '{obligation.status}'")
    if requested_due_on <= obligation.due_on:
        raise UnprocessableError("the requested deadline must be later than the current one")
    _within_horizon(requested_due_on, ctx, "requested_due_on")
    pending = await session.scalar(
        select(ExtensionRequest.id).where(
            ExtensionRequest.obligation_id == obligation.id, ExtensionRequest.status == "pending"
        )
    )
    if pending is not None:
        raise ExtensionNotPendingError(
            "an extension request is already waiting for a decision", request_id=str(pending)
        )
    request = ExtensionRequest(
        obligation_id=obligation.id,
        requested_due_on=requested_due_on,
        reason=reason,
        status="pending",
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
    obligation = await load(session, obligation_id, actor, ctx.settings, lock=True)
    request = await session.scalar(
        select(ExtensionRequest)
        .where(ExtensionRequest.id == request_id, ExtensionRequest.obligation_id == obligation.id)
        .with_for_update()
    )
    if request is None:
        raise ExtensionRequestNotFoundError(f"no extension request {request_id} on this obligation")
    if request.status != "pending":
        raise ExtensionNotPendingError(f"the request was already {request.status}")
    now = ctx.now()
    request.decided_by = actor.id
    request.decided_at = now
    request.decision_comment = comment or None
    if decision == "deny":
        request.status = "denied"
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
    request.status = "approved"
    request.approved_due_on = due
    obligation.due_on = due
    obligation.overdue_at = None
    obligation.version += 1
    obligation.updated_at = now
    session.add(record(obligation, "extend", actor, comment=f"hạn mới {due.isoformat()}", at=now))
    await cancel_timers(session, obligation.id, now)
    await session.flush()
    s = ctx.settings
    await plan_timers(session, [obligation], calendar=ctx.calendar, hour=s.reminder_hour, timezone=s.timezone)
    return request


async def remind(
    session: AsyncSession, obligation_id: uuid.UUID, kind: str, content: str, actor: Principal, ctx: Context
) -> Any:
    """A manual reminder from the Office (only while the unit still owes an answer)."""
    require_office(actor, ctx.settings)
    obligation = await load(session, obligation_id, actor, ctx.settings)
    if obligation.status not in AWAITING_UNIT:
        raise ObligationClosedError(f"no reminder while the status is '{obligation.status}'")
    escalated_to = obligation.supervisor_code if kind == "kiem_diem" else None
    return await send_reminder(
        session,
        obligation,
        kind=kind,
        content=content,
        source="manual",
        sent_by=actor.id,
        at=ctx.now(),
        escalated_to=escalated_to,
    )


# --- queries -----------------------------------------------------------------------------------


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
    status: str | None,
    overdue: bool | None,
    due_before: date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Obligation, DirectiveRecord]], str | None]:
    """The unit's inbox ordered by deadline (keyset pagination on ``(due_on, id)``)."""
    unit = require_unit_officer(actor)
    statement = (
        select(Obligation, DirectiveRecord)
        .join(DirectiveRecord, DirectiveRecord.id == Obligation.directive_id)
        # The list shows the document's summary only: skip its JSON (template, schema) per row.
        .options(
            load_only(
                DirectiveRecord.id,
                DirectiveRecord.notation,
                DirectiveRecord.subject,
                DirectiveRecord.issued_on,
                DirectiveRecord.status,
                raiseload=True,
            )
        )
        .where(Obligation.unit_code == unit)
    )
    if status is not None:
        statement = statement.where(Obligation.status == status)
    today = ctx.today()
    is_overdue = and_(Obligation.status.in_(AWAITING_UNIT), Obligation.due_on < today)
    if overdue is True:
        statement = statement.where(is_overdue)
    elif overdue is False:
        statement = statement.where(~is_overdue)
    if due_before is not None:
        statement = statement.where(Obligation.due_on < due_before)
    if cursor:
        day, ident = _decode_cursor(cursor)
        statement = statement.where(or_(Obligation.due_on > day, and_(Obligation.due_on == day, Obligation.id > ident)))
    rows = [
        (o, d)
        for o, d in (await session.execute(statement.order_by(Obligation.due_on, Obligation.id).limit(limit + 1))).all()
    ]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = _encode_cursor(last.due_on, last.id)
    return rows, next_cursor


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
    obligation = await load(session, obligation_id, actor, ctx.settings)
    oid = obligation.id
    return Detail(
        obligation=obligation,
        directive=await directive_of(session, obligation),
        history=list(
            await session.scalars(
                select(ObligationHistory).where(ObligationHistory.obligation_id == oid).order_by(ObligationHistory.id)
            )
        ),
        submissions=list(
            await session.scalars(
                select(Submission).where(Submission.obligation_id == oid).order_by(Submission.version)
            )
        ),
        evidence=list(
            await session.scalars(select(Evidence).where(Evidence.obligation_id == oid).order_by(Evidence.uploaded_at))
        ),
        extensions=list(
            await session.scalars(
                select(ExtensionRequest)
                .where(ExtensionRequest.obligation_id == oid)
                .order_by(ExtensionRequest.requested_at)
            )
        ),
        reminders=list(
            await session.scalars(
                select(Reminder)
                .where(Reminder.obligation_id == oid)
                .order_by(Reminder.sent_at, Reminder.kind, Reminder.sequence)
            )
        ),
    )


def is_closed(obligation: Obligation) -> bool:
    return obligation.status in {
        ObligationStatus.accepted.value,
        ObligationStatus.recalled.value,
        ObligationStatus.superseded.value,
    }
