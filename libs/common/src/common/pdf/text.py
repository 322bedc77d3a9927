"""Formatting rules of Decree 30/2020 for the number line and the place-and-date line."""

from __future__ import annotations

import datetime as dt

from common.pdf.model import nfc

__all__ = ["format_date_line", "format_number", "format_number_line", "placeholder_date_line"]

_BLANK_DAY = " " * 8
_BLANK_MONTH = " " * 6
_BLANK_YEAR = " " * 9


def _month(month: int) -> str:
    return f"{month:02d}" if month <= 2 else str(month)


def format_number(number: int, notation: str) -> str:
    """Format a registered number with its notation (ô 3), zero-padding numbers below 10.

    Args:
        number: The registered number (1 or more).
        notation: The notation, e.g. ``"VP-TTĐH"``.

    Returns:
        E.g. ``"01/VP-TTĐH"``.
    """
    if number < 1:
        raise ValueError("number must be positive")
    return nfc(f"{number:02d}/{notation}")


def format_number_line(number_text: str | None, notation: str) -> str:
    """Return the whole ô 3 line: ``Số: 01/VP-TTĐH``, or ``Số:      /VP-TTĐH`` when not numbered.

    Args:
        number_text: Output of :func:`format_number`, or None for the blank, reserved form.
        notation: The notation, used for the blank form.

    Returns:
        The text of the line.
    """
    if number_text is None:
        return nfc(f"Số:{_BLANK_DAY}/{notation}")
    return nfc(f"Số: {number_text}")


def format_date_line(place: str, date: dt.date) -> str:
    """Format the place-and-date line (ô 4).

    Days below 10 and the months January and February are written with a leading zero.

    Args:
        place: The place name, e.g. ``"Hà Nội"``.
        date: The issue date.

    Returns:
        E.g. ``"Hà Nội, ngày 27 tháng 11 năm 2026"``.
    """
    return nfc(f"{place}, ngày {date.day:02d} tháng {_month(date.month)} năm {date.year}")


def placeholder_date_line(place: str, month: int | None, year: int | None) -> str:
    """Return the reserved date line of a document that has no issue date yet.

    Args:
        place: The place name.
        month: The expected month, printed when given.
        year: The expected year, printed when given.

    Returns:
        E.g. ``"Hà Nội, ngày      tháng 11 năm 2025"``.
    """
    month_text = _BLANK_MONTH if month is None else _month(month)
    year_text = _BLANK_YEAR if year is None else str(year)
    return nfc(f"{place}, ngày{_BLANK_DAY}tháng {month_text} năm {year_text}")
