"""HTTP route of a manual reminder from the Office."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.problems import BadRequestError, ConflictError, problem_responses
from report_api.access import OfficeOnlyError
from report_api.context import Context
from report_api.obligations.errors import ObligationNotFoundError
from report_api.obligations.schemas import ReminderRead
from report_api.reminders import service
from report_api.reminders.schemas import ReminderCreate

router = APIRouter(prefix="/v1")


@router.post(
    "/obligations/{obligation_id}/reminders",
    tags=["office"],
    status_code=201,
    response_model=ReminderRead,
    responses=problem_responses(BadRequestError, OfficeOnlyError, ObligationNotFoundError, ConflictError),
)
async def send_reminder(
    obligation_id: uuid.UUID, body: ReminderCreate, request: Request, session: SessionDep, actor: CurrentPrincipal
) -> ReminderRead:
    """Send a Nhắc nhở / Phê bình / Kiểm điểm; its number per kind is counted on the obligation."""
    return await service.remind(session, obligation_id, body.kind, body.content, actor, Context.of(request.app.state))
