"""Value formats of edXML: dates, timestamps, DocumentId, document code and organisation ids.

edXML writes dates as ``yyyy/MM/dd`` and timestamps as ``yyyy/MM/dd HH:mm:ss`` (local time of
Vietnam, UTC+7, no offset written). The readers here are tolerant (``-`` separators,
``dd/MM/yyyy``, ``T`` separator, fractions, offsets); the writers always produce the canonical form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

from common.edxml.errors import EdxmlError, EdxmlErrorCode

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")
"""Vietnam time (UTC+7, no daylight saving): the implicit zone of every edXML timestamp."""

_DATE_PART = (
    r"(?:(?P<y1>\d{4})[/.-](?P<m1>\d{1,2})[/.-](?P<d1>\d{1,2})|(?P<d2>\d{1,2})[/.-](?P<m2>\d{1,2})[/.-](?P<y2>\d{4}))"
)
_TIME_PART = (
    r"(?:(?:[ T]+)(?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?)?"
)
_DATETIME_RE = re.compile(_DATE_PART + _TIME_PART)


def _match_datetime(text: str) -> tuple[datetime, bool]:
    """Parse a tolerant date/time string; return (naive Vietnam-local datetime, had_time)."""
    match = _DATETIME_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a date: {text[:40]!r}")
    groups = match.groupdict()
    year = int(groups["y1"] or groups["y2"])
    month = int(groups["m1"] or groups["m2"])
    day = int(groups["d1"] or groups["d2"])
    had_time = groups["hh"] is not None
    hour = int(groups["hh"]) if had_time else 0
    minute = int(groups["mi"]) if had_time else 0
    second = int(groups["ss"]) if groups["ss"] else 0
    micro = int((groups["frac"] or "0")[:6].ljust(6, "0"))
    value = datetime(year, month, day, hour, minute, second, micro)  # raises ValueError if invalid
    tz_text = groups["tz"]
    if tz_text:
        if tz_text == "Z":
            offset = timedelta(0)
        else:
            sign = -1 if tz_text[0] == "-" else 1
            digits = tz_text[1:].replace(":", "")
            offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        try:
            value = value.replace(tzinfo=timezone(offset)).astimezone(VIETNAM_TZ).replace(tzinfo=None)
        except OverflowError as exc:
            raise ValueError(f"date out of range: {text[:40]!r}") from exc
    return value, had_time


def parse_date(text: str) -> date:
    """Parse an edXML date.

    Accepts ``yyyy/MM/dd`` (canonical) and the variants seen in the wild: ``yyyy-MM-dd``,
    ``dd/MM/yyyy``, one-digit months/days, and a trailing time (which is dropped).

    Args:
        text: The element text.

    Returns:
        The calendar date.

    Raises:
        ValueError: The text is not a date, or not a valid calendar date.
    """
    return _match_datetime(text)[0].date()


def parse_timestamp(text: str) -> datetime:
    """Parse an edXML timestamp into a naive datetime in Vietnam local time.

    Accepts ``yyyy/MM/dd HH:mm:ss`` (canonical), ``-`` or ``T`` separators, missing seconds,
    fractions, a date alone (midnight), and an offset (``Z``, ``+07:00``), which is converted to
    Vietnam time.

    Args:
        text: The element text.

    Returns:
        A naive datetime (Vietnam local time).

    Raises:
        ValueError: The text is not a date/time, or not a valid one.
    """
    return _match_datetime(text)[0]


def format_date(value: date) -> str:
    """Format a date as edXML ``yyyy/MM/dd``.

    Args:
        value: A date (a datetime is reduced to its date).

    Returns:
        The canonical text.
    """
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def format_timestamp(value: datetime) -> str:
    """Format a timestamp as edXML ``yyyy/MM/dd HH:mm:ss`` in Vietnam local time.

    Args:
        value: A naive datetime (taken as Vietnam local time) or an aware one (converted).

    Returns:
        The canonical text (sub-second precision is dropped).
    """
    if value.tzinfo is not None:
        value = value.astimezone(VIETNAM_TZ)
    return f"{format_date(value)} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"


def now_vietnam() -> datetime:
    """Return the current time as a naive Vietnam-local datetime, to the second.

    Returns:
        The current Vietnam local time without tzinfo or microseconds.
    """
    return datetime.now(VIETNAM_TZ).replace(tzinfo=None, microsecond=0)


def format_code(code_number: str, code_notation: str) -> str:
    """Join a document number and notation into the code text, e.g. ``7816/VPCP-TTĐT``.

    Args:
        code_number: Số (document number).
        code_notation: Ký hiệu (notation); may be empty.

    Returns:
        ``<number>/<notation>``, or the number alone when the notation is empty.
    """
    return f"{code_number}/{code_notation}" if code_notation else code_number


def split_code(code: str) -> tuple[str, str]:
    """Split a code text ``<number>/<notation>`` at the first ``/``.

    Args:
        code: e.g. ``7816/VPCP-TTĐT``.

    Returns:
        ``(number, notation)``; the notation is empty when there is no ``/``.
    """
    number, _, notation = code.strip().partition("/")
    return number.strip(), notation.strip()


@dataclass(frozen=True, slots=True)
class DocumentIdParts:
    """The components of a DocumentId ``OrganId,yyyy/MM/dd,<number>/<notation>``.

    Attributes:
        organ_id: Identifier of the issuing organisation.
        date_text: The date part exactly as written.
        promulgation_date: The date part as a date, or None when it is not a valid calendar
            date (real packages carry e.g. ``2014/02/30``).
        code_number: Số.
        code_notation: Ký hiệu.
    """

    organ_id: str
    date_text: str
    promulgation_date: date | None
    code_number: str
    code_notation: str


def make_document_id(organ_id: str, promulgation_date: date, code_number: str, code_notation: str) -> str:
    """Build a DocumentId by the QCVN 102 rule ``OrganId,yyyy/MM/dd,<số>/<ký hiệu>``.

    Args:
        organ_id: Identifier of the issuing organisation, e.g. ``000.00.00.X01``.
        promulgation_date: Date of promulgation.
        code_number: Số, e.g. ``123``.
        code_notation: Ký hiệu, e.g. ``VP-TTĐH``.

    Returns:
        e.g. ``000.00.00.X01,2025/11/05,123/VP-TTĐH``.

    Raises:
        EdxmlError: ``invalid_document_id`` if a part is empty or contains a comma (or the
            number a ``/``), which would make the identifier ambiguous.
    """
    organ_id, code_number, code_notation = organ_id.strip(), code_number.strip(), code_notation.strip()
    if not organ_id or not code_number or not code_notation:
        raise EdxmlError(
            EdxmlErrorCode.INVALID_DOCUMENT_ID, "organ id, code number and code notation must be non-empty"
        )
    if any("," in part for part in (organ_id, code_number, code_notation)) or "/" in code_number:
        raise EdxmlError(
            EdxmlErrorCode.INVALID_DOCUMENT_ID,
            "parts of a DocumentId must not contain ',' (nor the code number '/')",
        )
    return f"{organ_id},{format_date(promulgation_date)},{code_number}/{code_notation}"


def parse_document_id(document_id: str) -> DocumentIdParts:
    """Split a DocumentId into its parts.

    The shape is checked strictly (three comma-separated parts, a ``yyyy/MM/dd``-like date,
    a code with ``/``); an impossible calendar date is tolerated (``promulgation_date`` None).

    Args:
        document_id: e.g. ``000.00.00.G22,2015/09/30,7816/VPCP-TTĐT``.

    Returns:
        The parts.

    Raises:
        EdxmlError: ``invalid_document_id`` when the text does not have that shape (real packages
            also use UUIDs as DocumentId).
    """
    parts = document_id.strip().split(",", 2)
    if len(parts) != 3:
        raise EdxmlError(EdxmlErrorCode.INVALID_DOCUMENT_ID, f"not 'OrganId,date,code': {document_id[:80]!r}")
    organ_id, date_text, code = (part.strip() for part in parts)
    number, notation = split_code(code)
    if not organ_id or not number or not notation or not re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}", date_text):
        raise EdxmlError(EdxmlErrorCode.INVALID_DOCUMENT_ID, f"not 'OrganId,date,code': {document_id[:80]!r}")
    try:
        parsed: date | None = parse_date(date_text)
    except ValueError:
        parsed = None
    return DocumentIdParts(organ_id, date_text, parsed, number, notation)


class OrganIdFormat(StrEnum):
    """Which identifier scheme an organisation id follows."""

    QCVN_102 = "qcvn_102"
    """``NNN.NN.NN.XNN`` (13 characters), QCVN 102:2016."""

    QD_20 = "qd_20"
    """Dot-separated groups of ``0-9A-Z``, at most 35 characters (QĐ 20/2020/QĐ-TTg)."""

    UNKNOWN = "unknown"


_QCVN_102_ORGAN_ID = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}")
_QD_20_ORGAN_ID = re.compile(r"[0-9A-Z]+(?:\.[0-9A-Z]+)*")


def classify_organ_id(organ_id: str) -> OrganIdFormat:
    """Tell which scheme an organisation identifier follows.

    Args:
        organ_id: e.g. ``000.00.00.X01``.

    Returns:
        The scheme; ``UNKNOWN`` for anything else.
    """
    if _QCVN_102_ORGAN_ID.fullmatch(organ_id):
        return OrganIdFormat.QCVN_102
    if len(organ_id) <= 35 and _QD_20_ORGAN_ID.fullmatch(organ_id):
        return OrganIdFormat.QD_20
    return OrganIdFormat.UNKNOWN
