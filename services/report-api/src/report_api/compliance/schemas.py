"""Response bodies of the compliance view of a document."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from report_api.obligations.schemas import DirectiveSummary, ReminderCounts

UnitsMode = Literal["none", "overdue", "all"]
"""Which per-unit rows the summary carries: none (default of the JSON view), the overdue ones, or all."""

GROUP_LABELS: dict[str | None, str] = {
    "department": "Sở, ban, ngành thành phố",
    "socio_political_org": "Các tổ chức chính trị - xã hội",
    "commune_level": "Ủy ban nhân dân xã, phường",
    None: "Khác",
}
"""How the summary, the workbook and the pages name a ``group_code``."""


class StatusCount(BaseModel):
    status: str
    label: str
    count: int


class GroupSummary(BaseModel):
    group_code: str | None
    total: int
    by_status: dict[str, int]
    overdue: int
    on_time: int
    on_time_base: int = 0
    on_time_rate: float


class OverdueUnit(BaseModel):
    obligation_id: uuid.UUID
    unit_code: str
    unit_name: str
    group_code: str | None
    status: str
    due_on: date
    working_days_overdue: int
    reminder_counts: ReminderCounts


class UnitRow(BaseModel):
    obligation_id: uuid.UUID
    unit_code: str
    unit_name: str
    group_code: str | None
    status: str
    status_label: str
    due_on: date
    overdue: bool
    late: bool | None
    figures: dict[str, Any]


class UnitsPage(BaseModel):
    """Which per-unit rows ``units`` carries (``?units=none|overdue|all&limit=&offset=``)."""

    mode: UnitsMode
    total: int
    """How many rows the mode has in all (0 for ``none``)."""
    offset: int
    limit: int | None
    next_offset: int | None
    """Pass as ``offset`` to read the next page; null at the end."""


class ComplianceSummary(BaseModel):
    directive: DirectiveSummary
    as_of: date
    total: int
    by_status: list[StatusCount]
    overdue: int
    submitted: int
    on_time: int
    late: int
    on_time_base: int = 0
    """Units that had to answer by now: their deadline has passed, or they reported already."""
    on_time_rate: float
    """Units whose first report arrived by the deadline, over ``on_time_base`` (0 when it is 0)."""
    totals: dict[str, int]
    """Sums of the numeric fields (and counts of ``true`` booleans) over the accepted reports."""
    field_labels: dict[str, str]
    groups: list[GroupSummary]
    overdue_units: list[OverdueUnit]
    units: list[UnitRow]
    """Per-unit rows as chosen by ``?units=`` (none by default in the JSON view; see ``units_page``)."""
    units_page: UnitsPage = Field(
        default_factory=lambda: UnitsPage(mode="all", total=0, offset=0, limit=None, next_offset=None)
    )
