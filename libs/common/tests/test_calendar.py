"""Tests for common.calendar: Vietnamese working-day arithmetic."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.calendar import WorkingCalendar, parse_date_list

CAL = WorkingCalendar()

# Tết Bính Ngọ 2026 for officials and public employees, as announced by the government:
# from Saturday 14/02/2026 (27 tháng Chạp) to Sunday 22/02/2026 (mùng 6 Tết), 9 days.
TET_2026_BREAK = [date(2026, 2, 14) + timedelta(days=i) for i in range(9)]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --- weekends ----------------------------------------------------------------------------------


def test_weekends_are_not_working_days() -> None:
    # 2026-03-02 is a Monday in an ordinary week.
    week = _days(date(2026, 3, 2), date(2026, 3, 8))
    assert [CAL.is_working_day(d) for d in week] == [True] * 5 + [False, False]


def test_add_working_days_skips_a_weekend() -> None:
    friday = date(2026, 3, 6)
    assert CAL.add_working_days(friday, 1) == date(2026, 3, 9)  # Monday
    assert CAL.add_working_days(friday, 5) == date(2026, 3, 13)  # next Friday
    assert CAL.add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)  # issued on a Saturday


def test_next_and_previous_working_day() -> None:
    assert CAL.next_working_day(date(2026, 3, 6)) == date(2026, 3, 9)
    assert CAL.next_working_day(date(2026, 3, 3)) == date(2026, 3, 4)
    assert CAL.previous_working_day(date(2026, 3, 9)) == date(2026, 3, 6)


# --- Tết 2026 --------------------------------------------------------------------------------


def test_what_holidays_vn_lists_for_tet_2026() -> None:
    """holidays.VN lists the five statutory Tết days; they are exactly the weekdays of the break."""
    vn = holidays.country_holidays("VN", years=2026)
    listed = sorted(d for d in vn if date(2026, 2, 1) <= d <= date(2026, 2, 28))
    assert listed == _days(date(2026, 2, 16), date(2026, 2, 20))  # Mon 16 – Fri 20
    # The rest of the announced break (14–15 and 21–22 February) are weekend days.
    rest = [d for d in TET_2026_BREAK if d not in listed]
    assert rest == [date(2026, 2, 14), date(2026, 2, 15), date(2026, 2, 21), date(2026, 2, 22)]
    assert all(d.weekday() >= 5 for d in rest)


def test_whole_announced_tet_2026_break_is_off() -> None:
    assert not any(CAL.is_working_day(d) for d in TET_2026_BREAK)
    assert CAL.is_working_day(date(2026, 2, 13))  # Friday before the break
    assert CAL.is_working_day(date(2026, 2, 23))  # first working day after it
    assert CAL.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)


def test_deadline_across_tet_2026() -> None:
    # Issued on Thursday 12/02/2026 with 3 working days: Fri 13, Mon 23, Tue 24.
    assert CAL.add_working_days(date(2026, 2, 12), 3) == date(2026, 2, 24)
    assert CAL.working_days_between(date(2026, 2, 12), date(2026, 2, 24)) == 3
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 22)) == 0


def test_configured_tet_break_covers_days_a_library_would_miss() -> None:
    """If the government announces a longer break than the package knows, configuration covers it.

    The announcement is configured as a range; a hypothetical extra bridge day (Mon 23/02) is
    configured too and is honoured.
    """
    cal = WorkingCalendar.from_settings("2026-02-14..2026-02-22, 2026-02-23")
    assert not any(cal.is_working_day(d) for d in TET_2026_BREAK)
    assert not cal.is_working_day(date(2026, 2, 23))
    assert cal.next_working_day(date(2026, 2, 13)) == date(2026, 2, 24)
    assert cal.add_working_days(date(2026, 2, 12), 3) == date(2026, 2, 25)


# --- other statutory days ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 4, 30),  # Ngày Chiến thắng (Thursday)
        date(2026, 5, 1),  # Quốc tế Lao động (Friday)
        date(2026, 9, 1),  # Quốc khánh, second day (Tuesday)
        date(2026, 9, 2),  # Quốc khánh (Wednesday)
        date(2025, 4, 30),
        date(2025, 5, 1),
        date(2025, 9, 2),
        date(2026, 1, 1),
        date(2026, 4, 27),  # Giỗ Tổ Hùng Vương 2026 falls on Sunday 26/4, observed Monday 27/4
    ],
)
def test_national_holidays_are_not_working_days(day: date) -> None:
    assert day.weekday() < 5
    assert not CAL.is_working_day(day)
    assert CAL.is_holiday(day)


def test_deadline_across_30_4_and_1_5_2026() -> None:
    # Wed 29/04 + 1 working day → Mon 04/05 (Thu 30/4 and Fri 1/5 off, then the weekend).
    assert CAL.add_working_days(date(2026, 4, 29), 1) == date(2026, 5, 4)


def test_swaps_known_to_the_package_are_honoured() -> None:
    # 2026: Monday 31/08 off in exchange for Saturday 22/08 (known to holidays.VN).
    assert not CAL.is_working_day(date(2026, 8, 31))
    assert CAL.is_working_day(date(2026, 8, 22))
    # 2025: Friday 02/05 off in exchange for Saturday 26/04.
    assert not CAL.is_working_day(date(2025, 5, 2))
    assert CAL.is_working_day(date(2025, 4, 26))
    # A swap recorded under the following year: 2015-01-02 off, worked on Saturday 2014-12-27.
    assert CAL.is_working_day(date(2014, 12, 27))
    assert not CAL.is_working_day(date(2015, 1, 2))


# --- configuration -----------------------------------------------------------------------------


def test_extra_day_off_is_honoured() -> None:
    bridge = date(2026, 3, 10)  # an ordinary Tuesday
    assert CAL.is_working_day(bridge)
    cal = WorkingCalendar(extra_days_off=[bridge])
    assert not cal.is_working_day(bridge)
    assert cal.is_holiday(bridge)
    assert cal.add_working_days(date(2026, 3, 9), 1) == date(2026, 3, 11)
    assert cal.working_days_between(date(2026, 3, 9), date(2026, 3, 11)) == 1


def test_extra_working_day_makes_a_saturday_count() -> None:
    saturday = date(2026, 3, 14)
    cal = WorkingCalendar(extra_working_days=[saturday])
    assert cal.is_working_day(saturday)
    assert cal.add_working_days(date(2026, 3, 13), 1) == saturday
    assert CAL.add_working_days(date(2026, 3, 13), 1) == date(2026, 3, 16)


def test_extra_working_day_overrides_a_listed_holiday() -> None:
    cal = WorkingCalendar(extra_working_days=[date(2026, 8, 31)])
    assert cal.is_working_day(date(2026, 8, 31))
    assert not cal.is_holiday(date(2026, 8, 31))


def test_same_date_in_both_lists_is_rejected() -> None:
    with pytest.raises(ValueError, match="2026-03-10"):
        WorkingCalendar(extra_days_off=[date(2026, 3, 10)], extra_working_days=[date(2026, 3, 10)])


def test_calendar_exposes_its_configuration() -> None:
    cal = WorkingCalendar.from_settings("2026-02-16", "2026-03-14")
    assert cal.extra_days_off == frozenset({date(2026, 2, 16)})
    assert cal.extra_working_days == frozenset({date(2026, 3, 14)})


# --- counting rule -----------------------------------------------------------------------------


def test_zero_working_days() -> None:
    assert CAL.add_working_days(date(2026, 3, 4), 0) == date(2026, 3, 4)
    assert CAL.add_working_days(date(2026, 3, 7), 0) == date(2026, 3, 9)  # Saturday → Monday


def test_negative_n_is_rejected() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        CAL.add_working_days(date(2026, 3, 4), -1)


def test_working_days_between_edges() -> None:
    monday, friday = date(2026, 3, 2), date(2026, 3, 6)
    assert CAL.working_days_between(monday, monday) == 0
    assert CAL.working_days_between(monday, friday) == 4  # Tue..Fri
    assert CAL.working_days_between(friday, monday) == -4
    assert CAL.working_days_between(date(2026, 3, 1), friday) == 5  # from a Sunday


def test_working_days_in_range() -> None:
    assert CAL.working_days_in_range(date(2026, 2, 12), date(2026, 2, 24)) == [
        date(2026, 2, 12),
        date(2026, 2, 13),
        date(2026, 2, 23),
        date(2026, 2, 24),
    ]
    assert CAL.working_days_in_range(date(2026, 2, 24), date(2026, 2, 12)) == []


# --- parse_date_list ---------------------------------------------------------------------------


def test_parse_date_list() -> None:
    assert parse_date_list("2026-02-16,2026-02-20") == (date(2026, 2, 16), date(2026, 2, 20))
    assert parse_date_list(" 2026-02-20 ; 2026-02-16\n2026-02-16 ") == (date(2026, 2, 16), date(2026, 2, 20))
    assert parse_date_list("2026-02-14..2026-02-16,") == (
        date(2026, 2, 14),
        date(2026, 2, 15),
        date(2026, 2, 16),
    )
    assert parse_date_list("") == ()
    assert parse_date_list("   ") == ()
    assert parse_date_list(None) == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-02-30", "not a valid date"),
        ("16/02/2026", "not an ISO date"),
        ("2026-2-16", "not an ISO date"),
        ("2026-02-16,tomorrow", "'tomorrow'"),
        ("2026-02-20..2026-02-16", "ends before it starts"),
        ("2026-01-01..2027-01-02", "longer than"),
        ("2026-01-01..", "not an ISO date"),
    ],
)
def test_parse_date_list_rejects_bad_items(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_date_list(value)


def test_from_settings_rejects_bad_strings() -> None:
    with pytest.raises(ValueError, match="not an ISO date"):
        WorkingCalendar.from_settings("16/02/2026")


# --- properties --------------------------------------------------------------------------------

_dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
_extra = st.frozensets(st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)), max_size=20)


@settings(max_examples=200, deadline=None)
@given(start=_dates, n=st.integers(min_value=0, max_value=120))
def test_result_is_a_working_day_and_inverse_of_between(start: date, n: int) -> None:
    deadline = CAL.add_working_days(start, n)
    assert CAL.is_working_day(deadline)
    assert deadline >= start
    if n >= 1:
        assert deadline > start
        assert CAL.working_days_between(start, deadline) == n
        # Nothing earlier would do: the previous working day is only n - 1 working days away.
        assert CAL.working_days_between(start, CAL.previous_working_day(deadline)) == n - 1


@settings(max_examples=150, deadline=None)
@given(start=_dates, n=st.integers(min_value=0, max_value=60), k=st.integers(min_value=1, max_value=60))
def test_monotonic_in_n(start: date, n: int, k: int) -> None:
    assert CAL.add_working_days(start, n) <= CAL.add_working_days(start, n + k)
    if n >= 1:
        assert CAL.add_working_days(start, n) < CAL.add_working_days(start, n + k)
    # Adding in two steps is the same as adding at once (n = 0 may first move a day off forward,
    # which the second step does not count).
    if n >= 1 or CAL.is_working_day(start):
        assert CAL.add_working_days(CAL.add_working_days(start, n), k) == CAL.add_working_days(start, n + k)


@settings(max_examples=100, deadline=None)
@given(
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 10, 31)),
    n=st.integers(min_value=0, max_value=40),
    days_off=_extra,
    working=_extra,
)
def test_properties_hold_with_configuration(
    start: date, n: int, days_off: frozenset[date], working: frozenset[date]
) -> None:
    cal = WorkingCalendar(extra_days_off=days_off, extra_working_days=working - days_off)
    deadline = cal.add_working_days(start, n)
    assert cal.is_working_day(deadline)
    assert deadline not in days_off
    assert cal.add_working_days(start, n) <= cal.add_working_days(start, n + 1)
    for d in working - days_off:
        assert cal.is_working_day(d)


_ANY_DATE = st.dates(min_value=date.min, max_value=date.max)


@given(d=_ANY_DATE, n=st.integers(min_value=0, max_value=60))
@settings(max_examples=300, deadline=None)
def test_the_calendar_is_total(d: date, n: int) -> None:
    """No date makes the calendar raise (9999-12-31 made the reminder ladder raise OverflowError)."""
    calendar = WorkingCalendar()
    nxt = calendar.next_working_day(d)
    prev = calendar.previous_working_day(d)
    assert nxt > d or d == date.max
    assert prev < d or d == date.min
    later = calendar.add_working_days(d, n)
    assert later >= d
    near = min(d + timedelta(days=30), date.max) if d < date.max - timedelta(days=30) else date.max
    assert calendar.working_days_between(d, near) >= 0
    assert calendar.working_days_between(near, d) <= 0
    assert all(day >= d for day in calendar.working_days_in_range(d, near))
    calendar.is_holiday(d)


@pytest.mark.parametrize("d", [date.max, date.max - timedelta(days=1), date(9999, 12, 27), date.min, date(1, 1, 2)])
def test_the_ends_of_the_calendar_saturate(d: date) -> None:
    calendar = WorkingCalendar()
    assert calendar.add_working_days(d, 20) <= date.max
    assert calendar.add_working_days(date.max, 5) == date.max
    assert calendar.next_working_day(date.max) == date.max
    assert calendar.previous_working_day(date.min) == date.min
    assert calendar.working_days_in_range(date.max - timedelta(days=3), date.max)
    assert calendar.working_days_between(date.max, date.max) == 0
    # The reminder ladder's steps around a deadline at the end of the calendar.
    pre = d
    for _ in range(3):
        pre = calendar.previous_working_day(pre)
    assert pre <= d
