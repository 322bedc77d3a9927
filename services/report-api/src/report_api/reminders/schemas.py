"""Request bodies of the reminders slice (the read view is the obligation detail's ``ReminderRead``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from report_api.obligations.schemas import StrictModel, nfc
from report_api.reminders.states import ReminderKind

ReminderContent = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1_000), AfterValidator(nfc)
]


class ReminderCreate(StrictModel):
    kind: ReminderKind = ReminderKind.nhac_nho
    content: ReminderContent
