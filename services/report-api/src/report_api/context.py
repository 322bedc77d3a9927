"""What every action needs besides the session: settings, clock and working calendar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from common.calendar import WorkingCalendar
from report_api.settings import Settings

Clock = Callable[[], datetime]


class AppState(Protocol):
    """The application's state as ``create_app`` fills it."""

    settings: Settings
    clock: Clock
    calendar: WorkingCalendar


@dataclass(frozen=True)
class Context:
    settings: Settings
    clock: Clock
    calendar: WorkingCalendar

    @classmethod
    def of(cls, state: AppState) -> Context:
        return cls(settings=state.settings, clock=state.clock, calendar=state.calendar)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """The Office's local date (deadlines are local dates)."""
        return self.clock().astimezone(ZoneInfo(self.settings.timezone)).date()
