"""Working-day arithmetic for Vietnamese public-sector deadlines.

Days off are, in order of precedence:

1. ``extra_working_days`` configured by the deployment (make-up working Saturdays announced for
   a year, e.g. when the government swaps a Saturday for a bridge day) — always working days;
2. ``extra_days_off`` configured by the deployment (bridge days, extra Tết days, a provincial
   day off) — never working days;
3. the public holidays of the maintained ``holidays`` package (``holidays.VN``: Tết Dương lịch,
   Tết Nguyên đán, Giỗ Tổ Hùng Vương, 30/4, 1/5, Quốc khánh, their observed/substitute days and
   the swaps the package already knows about, whose make-up Saturdays it lists as
   ``weekend_workdays``);
4. Saturdays and Sundays.

Counting rule (Bộ luật Dân sự 2015, Điều 147–148, applied to periods counted in working days):
the day of issue is not counted, so the deadline for "``n`` working days from the date of issue"
is the ``n``-th working day *after* that date, whether or not the date of issue is itself a
working day; a deadline never falls on a day off.

Totality: every method answers for every ``date`` from ``date.min`` to ``date.max`` and never raises
for a date (a deadline of 9999-12-31 once made the reminder ladder raise ``OverflowError``). Public
holidays are known for :data:`HOLIDAY_YEARS` only; outside it only weekends and the configured days
count. Arithmetic that would leave the range saturates at ``date.max`` (or ``date.min``), which is
then returned even if it is not a working day. Callers still validate dates where they enter: a
saturated deadline is a correct answer to a nonsensical question, not a plausible deadline.

Note:
    The ``holidays`` package lists the statutory days and the swaps it has been told about; the
    government announces each year's Tết arrangement (and sometimes bridge days for 30/4–1/5
    or 2/9) a few months ahead. Configure those announcements with ``extra_days_off`` and
    ``extra_working_days`` (see :func:`parse_date_list`) rather than waiting for a package
    release.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from datetime import date, timedelta

__all__ = ["DEADLINE_HORIZON", "WorkingCalendar", "parse_date_list"]

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5
_SEPARATORS = re.compile(r"[\s,;]+")
_MAX_RANGE_DAYS = 366
DEADLINE_HORIZON = timedelta(days=5 * 365 + 2)
"""How far ahead a deadline (a due date, an extended deadline) may lie: five years. Services refuse
dates beyond it where they enter (422 on the API, a refused event on the inbox)."""
HOLIDAY_YEARS = range(1945, 2200)
"""Years whose public holidays are looked up (the package's lunar tables and the republic's
holidays make no sense far outside; computing them costs ~0.3 s per year)."""


def parse_date_list(value: str | None) -> tuple[date, ...]:
    """Parse a settings string listing dates into a sorted tuple without duplicates.

    Items are ISO dates (``YYYY-MM-DD``) separated by commas, semicolons or whitespace. An item
    ``A..B`` is the inclusive range from ``A`` to ``B`` (at most 366 days), convenient for a
    whole announced break such as Tết.

    Args:
        value: The settings string, e.g. ``"2026-02-16,2026-02-20"`` or
            ``"2026-02-14..2026-02-22; 2026-08-31"``. ``None`` or blank gives an empty tuple.

    Returns:
        The dates, sorted ascending, each once.

    Raises:
        ValueError: If an item is not an ISO date or a range is reversed or too long; the
            message names the offending item.
    """
    if value is None or not value.strip():
        return ()
    result: set[date] = set()
    for item in _SEPARATORS.split(value.strip()):
        if not item:
            continue
        if ".." in item:
            first_text, _, last_text = item.partition("..")
            first, last = _parse_iso_date(first_text, item), _parse_iso_date(last_text, item)
            if last < first:
                raise ValueError(f"date range {item!r} ends before it starts")
            if (last - first).days >= _MAX_RANGE_DAYS:
                raise ValueError(f"date range {item!r} is longer than {_MAX_RANGE_DAYS} days")
            result.update(first + timedelta(days=i) for i in range((last - first).days + 1))
        else:
            result.add(_parse_iso_date(item, item))
    return tuple(sorted(result))


def _parse_iso_date(text: str, item: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"{item!r} is not an ISO date (YYYY-MM-DD) or a range A..B")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{item!r} is not a valid date: {exc}") from None


_NO_HOLIDAYS: tuple[frozenset[date], frozenset[date]] = (frozenset(), frozenset())
_YEARS_LOCK = threading.Lock()
_YEARS: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
"""Public holidays and make-up working days per year, shared by every calendar of the process:
holidays.VN takes ~0.3 s per year to compute (the configured extra days are applied per calendar)."""


class WorkingCalendar:
    """Vietnamese working days: weekdays that are not public holidays, plus configured changes.

    Instances are immutable after construction and safe to share between threads (the per-year
    holiday tables are computed lazily under a lock).

    Args:
        extra_days_off: Dates that are not working days although the ``holidays`` package says
            they are (announced bridge days, extra Tết days, local days off).
        extra_working_days: Dates that are working days although they fall on a weekend or a
            listed holiday (announced make-up Saturdays).

    Raises:
        ValueError: If a date is listed both as an extra day off and as an extra working day.
    """

    def __init__(
        self,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
    ) -> None:
        self._extra_days_off = frozenset(extra_days_off)
        self._extra_working_days = frozenset(extra_working_days)
        both = self._extra_days_off & self._extra_working_days
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates configured both as day off and as working day: {listed}")

    @classmethod
    def from_settings(cls, extra_days_off: str | None = "", extra_working_days: str | None = "") -> WorkingCalendar:
        """Build a calendar from two settings strings in the :func:`parse_date_list` format.

        Args:
            extra_days_off: E.g. ``"2026-02-14..2026-02-22"``.
            extra_working_days: E.g. ``"2026-08-22"``.

        Returns:
            The configured calendar.

        Raises:
            ValueError: If a string cannot be parsed or a date is in both lists.
        """
        return cls(parse_date_list(extra_days_off), parse_date_list(extra_working_days))

    @property
    def extra_days_off(self) -> frozenset[date]:
        """The configured extra days off."""
        return self._extra_days_off

    @property
    def extra_working_days(self) -> frozenset[date]:
        """The configured extra working days."""
        return self._extra_working_days

    def preload(self, *years: int) -> None:
        """Build the holiday tables of ``years`` now (at start-up) rather than in the first request."""
        for year in years:
            self._year_tables(year)

    def _year_tables(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """Public holidays and make-up weekend working days of ``year`` from ``holidays.VN``."""
        if year not in HOLIDAY_YEARS:
            return _NO_HOLIDAYS
        tables = _YEARS.get(year)
        if tables is None:
            with _YEARS_LOCK:
                tables = _YEARS.get(year)
                if tables is None:
                    # Neighbouring years too: a swap announced for one year can move a working
                    # day into the previous one (e.g. 2015-01-02 off, worked on 2014-12-27), and
                    # observed days can spill over New Year.
                    years = [y for y in (year - 1, year, year + 1) if date.min.year <= y <= date.max.year]
                    # Imported here: with its country tables it is ~9 MB resident, which a process
                    # that never counts working days (directive-api's web process) does not hold.
                    import holidays

                    vn = holidays.country_holidays("VN", years=years)
                    days_off = frozenset(d for d in vn if d.year == year)
                    workdays = frozenset(d for d in vn.weekend_workdays if d.year == year)
                    tables = (days_off, workdays)
                    _YEARS[year] = tables
        return tables

    def is_holiday(self, d: date) -> bool:
        """Tell whether ``d`` is a public holiday or an extra day off (weekends aside).

        Args:
            d: The date.

        Returns:
            True if ``d`` is listed by ``holidays.VN`` or configured as an extra day off, and is
            not configured as an extra working day.
        """
        if d in self._extra_working_days:
            return False
        return d in self._extra_days_off or d in self._year_tables(d.year)[0]

    def is_working_day(self, d: date) -> bool:
        """Tell whether ``d`` is a working day.

        Args:
            d: The date.

        Returns:
            True for a weekday that is neither a public holiday nor an extra day off, and for a
            weekend day that is a make-up working day (configured or known to ``holidays.VN``).
        """
        if d in self._extra_working_days:
            return True
        if d in self._extra_days_off:
            return False
        days_off, weekend_workdays = self._year_tables(d.year)
        if d.weekday() >= _SATURDAY:
            return d in weekend_workdays and d not in days_off
        return d not in days_off

    def next_working_day(self, d: date) -> date:
        """Return the first working day strictly after ``d``.

        Args:
            d: The date.

        Returns:
            The next working day; ``date.max`` when there is none before it.
        """
        candidate = d
        while candidate < date.max:
            candidate += _ONE_DAY
            if self.is_working_day(candidate):
                return candidate
        return date.max

    def previous_working_day(self, d: date) -> date:
        """Return the last working day strictly before ``d``.

        Args:
            d: The date.

        Returns:
            The previous working day; ``date.min`` when there is none after it.
        """
        candidate = d
        while candidate > date.min:
            candidate -= _ONE_DAY
            if self.is_working_day(candidate):
                return candidate
        return date.min

    def add_working_days(self, start: date, n: int) -> date:
        """Return the deadline ``n`` working days from ``start``.

        The start date is not counted (Bộ luật Dân sự 2015, Điều 147): the result is the
        ``n``-th working day strictly after ``start``. For ``n == 0`` the result is ``start``
        itself if it is a working day, otherwise the next working day (Điều 148: a period
        ending on a day off ends on the next working day). The result is always a working day
        and is non-decreasing in ``n`` (strictly increasing for ``n >= 1``).

        Args:
            start: The date of issue (or of receipt, depending on the rule being applied).
            n: Number of working days, ``>= 0``.

        Returns:
            The deadline date.

        Raises:
            ValueError: If ``n`` is negative.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return start if self.is_working_day(start) else self.next_working_day(start)
        current = start
        for _ in range(n):
            if current == date.max:
                break
            current = self.next_working_day(current)
        return current

    def working_days_between(self, a: date, b: date) -> int:
        """Count the working days ``d`` with ``a < d <= b``.

        This is the inverse of :meth:`add_working_days`:
        ``working_days_between(s, add_working_days(s, n)) == n`` for every ``n >= 1``. Use it
        for "how many working days late": ``working_days_between(deadline, today)``.

        Args:
            a: The exclusive lower bound.
            b: The inclusive upper bound.

        Returns:
            The count; negative (``-working_days_between(b, a)``) if ``b < a``, zero if equal.
        """
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        current = a
        while current < b:
            current += _ONE_DAY
            if self.is_working_day(current):
                count += 1
        return count

    def working_days_in_range(self, first: date, last: date) -> list[date]:
        """List the working days from ``first`` to ``last``, both inclusive.

        Args:
            first: First date of the range.
            last: Last date of the range.

        Returns:
            The working days in ascending order (empty if ``last < first``).
        """
        days: list[date] = []
        current = first
        while current <= last:
            if self.is_working_day(current):
                days.append(current)
            if current == date.max:
                break
            current += _ONE_DAY
        return days
