"""Rules of the Office's bulk follow-up: who may act, which units a filter selects, all-or-nothing
review, and each bulk action run once per ``Idempotency-Key``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from common.http import idempotent
from common.problems import UnprocessableError
from common.workflow import CommentRequiredError
from report_api.access import require_office
from report_api.context import Context
from report_api.followup import repository
from report_api.followup.errors import BulkTargetsError
from report_api.followup.models import IdempotencyRecord
from report_api.followup.schemas import (
    BulkReminderCreate,
    BulkReminderItem,
    BulkReminderResult,
    BulkReviewCreate,
    BulkReviewResult,
    OfficeObligationPage,
    OfficeObligationRow,
)
from report_api.obligations import service as obligations
from report_api.obligations.errors import DirectiveNotFoundError
from report_api.obligations.models import DirectiveRecord
from report_api.obligations.states import STATUS_LABELS, ObligationStatus
from report_api.reminders import service as reminders
from report_api.submissions import service as submissions


@dataclass(frozen=True)
class Answer:
    """A bulk action's JSON answer, and whether it replays the first call's (same key and body)."""

    status_code: int
    body: dict[str, Any]
    replayed: bool


async def _once(
    session: AsyncSession,
    actor: Principal,
    key: str | None,
    endpoint: str,
    body: BaseModel,
    run: Callable[[], Awaitable[BaseModel]],
) -> Answer:
    """Run a bulk action once per ``Idempotency-Key``: a repeat answers what the first call did."""

    async def create() -> tuple[int, Any, str | None]:
        return 200, (await run()).model_dump(mode="json"), None

    status, payload, replayed = await idempotent(
        session,
        IdempotencyRecord,
        key=key,
        principal=actor.id,
        endpoint=endpoint,
        body=body.model_dump(mode="json"),
        create=create,
    )
    return Answer(status_code=status, body=payload, replayed=replayed)


async def _directive(session: AsyncSession, directive_id: str) -> DirectiveRecord:
    found = await repository.directive(session, directive_id)
    if found is None:
        raise DirectiveNotFoundError(f"no document {directive_id} is known to report-api")
    return found


async def remind_many(
    session: AsyncSession, directive_id: str, body: BulkReminderCreate, actor: Principal, ctx: Context
) -> BulkReminderResult:
    """One reminder to each unit the filter selects; each unit's counter of the kind goes up by one."""
    require_office(actor, ctx.settings)
    directive = await _directive(session, directive_id)
    units = sorted(set(body.units)) if body.units is not None else None
    chosen = await repository.selected(session, directive.id, body.filter, ctx.today(), units)
    now = ctx.now()
    items = []
    for obligation in chosen:
        reminder = await reminders.send_reminder(
            session,
            obligation,
            kind=body.kind,
            content=body.content,
            source="manual",
            sent_by=actor.id,
            at=now,
            escalated_to=reminders.escalated_to(obligation, body.kind),
        )
        items.append(
            BulkReminderItem(
                id=reminder.id, obligation_id=obligation.id, unit_code=obligation.unit_code, sequence=reminder.sequence
            )
        )
    reached = {o.unit_code for o in chosen}
    return BulkReminderResult(
        count=len(items),
        ids=[i.id for i in items],
        items=items,
        skipped_units=[u for u in units or [] if u not in reached],
    )


async def remind_many_once(
    session: AsyncSession,
    directive_id: str,
    body: BulkReminderCreate,
    actor: Principal,
    ctx: Context,
    idempotency_key: str | None,
) -> Answer:
    return await _once(
        session,
        actor,
        idempotency_key,
        f"POST /v1/directives/{directive_id}/reminders",
        body,
        lambda: remind_many(session, directive_id, body, actor, ctx),
    )


async def review_many(
    session: AsyncSession, directive_id: str, body: BulkReviewCreate, actor: Principal, ctx: Context
) -> BulkReviewResult:
    """Accept (or return with a comment) the latest report of each named obligation: all of them or none."""
    require_office(actor, ctx.settings)
    directive = await _directive(session, directive_id)
    if body.decision == "return" and not body.comment:
        raise CommentRequiredError("returning reports needs a comment")
    ids = list(dict.fromkeys(body.obligation_ids))
    found = await repository.by_ids(session, directive.id, ids)
    known = {o.id for o in found}
    not_found = [str(i) for i in ids if i not in known]
    not_submitted = [
        {"obligation_id": str(o.id), "unit_code": o.unit_code, "status": o.status}
        for o in found
        if o.status != ObligationStatus.submitted
    ]
    if not_found or not_submitted:
        raise BulkTargetsError(
            "only reports waiting for review (status submitted) of this document can be decided; nothing was changed",
            not_found=not_found,
            not_submitted=not_submitted,
        )
    for obligation in found:
        await submissions.review(session, obligation.id, body.decision, body.comment, actor, ctx, None)
    status = "accepted" if body.decision == "accept" else "returned"
    return BulkReviewResult(count=len(found), ids=[o.id for o in found], status=status)


async def review_many_once(
    session: AsyncSession,
    directive_id: str,
    body: BulkReviewCreate,
    actor: Principal,
    ctx: Context,
    idempotency_key: str | None,
) -> Answer:
    return await _once(
        session,
        actor,
        idempotency_key,
        f"POST /v1/directives/{directive_id}/reviews",
        body,
        lambda: review_many(session, directive_id, body, actor, ctx),
    )


def encode_cursor(unit_code: str) -> str:
    return base64.urlsafe_b64encode(unit_code.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise UnprocessableError("invalid cursor") from None


async def list_for_office(
    session: AsyncSession,
    directive_id: str,
    actor: Principal,
    ctx: Context,
    filters: repository.ListFilters,
    *,
    limit: int,
    cursor: str | None,
) -> OfficeObligationPage:
    """The document's obligations for the Office, filtered, in unit-code order (keyset pages)."""
    require_office(actor, ctx.settings)
    directive = await _directive(session, directive_id)
    today = ctx.today()
    rows = await repository.page(
        session,
        directive.id,
        filters,
        today=today,
        after_unit=decode_cursor(cursor) if cursor else None,
        limit=limit,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].unit_code)
    items = []
    for o in rows:
        days = obligations.overdue_days(o, today, ctx.calendar)
        items.append(
            OfficeObligationRow(
                id=o.id,
                unit_code=o.unit_code,
                unit_name=o.unit_name,
                group_code=o.group_code,
                status=o.status,
                status_label=STATUS_LABELS[o.status],
                version=o.version,
                due_on=o.due_on,
                original_due_on=o.original_due_on,
                overdue=days > 0,
                working_days_overdue=days,
                acknowledged_at=o.acknowledged_at,
                first_submitted_at=o.first_submitted_at,
                first_submission_late=o.first_submission_late,
                accepted_at=o.accepted_at,
                submission_count=o.submission_count,
                reminder_counts=obligations.counts(o),
                carried_from_id=o.carried_from_id,
            )
        )
    return OfficeObligationPage(items=items, next_cursor=next_cursor)
