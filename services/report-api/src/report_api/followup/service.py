"""Rules of the Office's bulk follow-up: who may act, which units a filter selects, all-or-nothing review."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from sqlalchemy import ColumnElement, not_
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from common.problems import UnprocessableError
from common.workflow import CommentRequiredError
from report_api.followup import repository
from report_api.followup.errors import BulkTargetsError
from report_api.followup.schemas import BulkReminderCreate, BulkReviewCreate
from report_api.obligations import service as obligations
from report_api.obligations.errors import DirectiveNotFoundError
from report_api.obligations.lifecycle import ObligationStatus, ReminderKind
from report_api.obligations.models import DirectiveRecord, Obligation
from report_api.obligations.reminders import send_reminder


async def _directive(session: AsyncSession, directive_id: str) -> DirectiveRecord:
    found = await repository.directive(session, directive_id)
    if found is None:
        raise DirectiveNotFoundError(f"no document {directive_id} is known to report-api")
    return found


async def remind_many(
    session: AsyncSession, directive_id: str, body: BulkReminderCreate, actor: Principal, ctx: obligations.Context
) -> dict[str, Any]:
    """One reminder to each unit the filter selects; each unit's counter of the kind goes up by one."""
    obligations.require_office(actor, ctx.settings)
    directive = await _directive(session, directive_id)
    units = sorted(set(body.units)) if body.units is not None else None
    chosen = await repository.selected(session, directive.id, repository.filter_clause(body.filter, ctx.today()), units)
    now = ctx.now()
    items = []
    for obligation in chosen:
        reminder = await send_reminder(
            session,
            obligation,
            kind=body.kind.value,
            content=body.content,
            source="manual",
            sent_by=actor.id,
            at=now,
            escalated_to=obligation.supervisor_code if body.kind == ReminderKind.kiem_diem else None,
        )
        items.append(
            {
                "id": str(reminder.id),
                "obligation_id": str(obligation.id),
                "unit_code": obligation.unit_code,
                "sequence": reminder.sequence,
            }
        )
    reached = {o.unit_code for o in chosen}
    return {
        "count": len(items),
        "ids": [i["id"] for i in items],
        "items": items,
        "skipped_units": [u for u in units or [] if u not in reached],
    }


async def review_many(
    session: AsyncSession, directive_id: str, body: BulkReviewCreate, actor: Principal, ctx: obligations.Context
) -> dict[str, Any]:
    """Accept (or return with a comment) the latest report of each named obligation: all of them or none."""
    obligations.require_office(actor, ctx.settings)
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
        if o.status != ObligationStatus.submitted.value
    ]
    if not_found or not_submitted:
        raise BulkTargetsError(
            "only reports waiting for review (status submitted) of this document can be decided; nothing was changed",
            not_found=not_found,
            not_submitted=not_submitted,
        )
    for obligation in found:
        await obligations.review(session, obligation.id, body.decision, body.comment, actor, ctx, None)
    status = "accepted" if body.decision == "accept" else "returned"
    return {"count": len(found), "ids": [str(o.id) for o in found], "status": status}


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
    ctx: obligations.Context,
    *,
    statuses: list[str] | None,
    filter_name: str | None,
    overdue: bool | None,
    group: str | None,
    units: list[str] | None,
    limit: int,
    cursor: str | None,
) -> tuple[DirectiveRecord, list[Obligation], str | None]:
    """The document's obligations for the Office, filtered, in unit-code order (keyset pages)."""
    obligations.require_office(actor, ctx.settings)
    directive = await _directive(session, directive_id)
    today = ctx.today()
    clauses: list[ColumnElement[bool]] = []
    if statuses:
        clauses.append(Obligation.status.in_(statuses))
    if filter_name is not None:
        clauses.append(repository.filter_clause(filter_name, today))
    if overdue is True:
        clauses.append(repository.overdue_clause(today))
    elif overdue is False:
        clauses.append(not_(repository.overdue_clause(today)))
    if group is not None:
        clauses.append(Obligation.group_code == group)
    if units:
        clauses.append(Obligation.unit_code.in_(units))
    rows = await repository.page(
        session, directive.id, clauses, after_unit=decode_cursor(cursor) if cursor else None, limit=limit
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].unit_code)
    return directive, rows, next_cursor
