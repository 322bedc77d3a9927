"""A document's states, the roles that act on it, and the Decree 30 document types.

Shared data definitions: any slice may import this module (like ``models.py``); the workflow
that moves between the states is in :mod:`directive_api.directives.lifecycle`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class DirectiveStatus(StrEnum):
    """Where a document is in its life."""

    draft = "draft"
    submitted = "submitted"
    reviewed = "reviewed"
    returned = "returned"
    awaiting_signature = "awaiting_signature"
    approved = "approved"
    issued = "issued"
    dispatched = "dispatched"
    archived = "archived"
    recalled = "recalled"
    replaced = "replaced"


EDITABLE_STATUSES = frozenset({DirectiveStatus.draft, DirectiveStatus.returned})
"""The drafter may still change the content."""
PRE_ISSUE_STATUSES = frozenset(
    {
        DirectiveStatus.draft,
        DirectiveStatus.submitted,
        DirectiveStatus.reviewed,
        DirectiveStatus.returned,
        DirectiveStatus.awaiting_signature,
        DirectiveStatus.approved,
    }
)
"""No number yet: seen only by the issuing office, never public, never verified as registered."""
ISSUED_STATUSES = frozenset(DirectiveStatus) - PRE_ISSUE_STATUSES
"""Numbered and sealed: visible to its addressees, public behind its QR code."""
FROZEN_STATUSES = frozenset({DirectiveStatus.archived, DirectiveStatus.recalled})
"""Nothing of the document or its files may change again (database triggers enforce it, see
migration 0003)."""
TERMINAL_STATUSES = frozenset({DirectiveStatus.archived, DirectiveStatus.recalled})
"""No transition leaves these states (``replaced`` still leads to ``archived``)."""


class Role(StrEnum):
    """Roles carried in the token's ``roles`` claim."""

    drafter = "drafter"
    reviewer = "reviewer"
    signer = "signer"
    clerk = "clerk"
    unit_officer = "unit_officer"
    monitor = "monitor"
    integration = "integration"
    auditor = "auditor"
    admin = "admin"


OFFICE_ROLES = frozenset(
    {
        Role.drafter,
        Role.reviewer,
        Role.signer,
        Role.clerk,
        Role.monitor,
        Role.integration,
        Role.auditor,
        Role.admin,
    }
)


DOC_TYPES: dict[str, tuple[str, str | None]] = {
    # code: (name, abbreviation used in the notation; None = công văn style notation)
    "CV": ("Công văn", None),
    "NQ": ("Nghị quyết", "NQ"),
    "QĐ": ("Quyết định", "QĐ"),
    "CT": ("Chỉ thị", "CT"),
    "QC": ("Quy chế", "QC"),
    "QyĐ": ("Quy định", "QyĐ"),
    "TC": ("Thông cáo", "TC"),
    "TB": ("Thông báo", "TB"),
    "HD": ("Hướng dẫn", "HD"),
    "CTr": ("Chương trình", "CTr"),
    "KH": ("Kế hoạch", "KH"),
    "PA": ("Phương án", "PA"),
    "ĐA": ("Đề án", "ĐA"),
    "DA": ("Dự án", "DA"),
    "BC": ("Báo cáo", "BC"),
    "BB": ("Biên bản", "BB"),
    "TTr": ("Tờ trình", "TTr"),
    "HĐ": ("Hợp đồng", "HĐ"),
    "CĐ": ("Công điện", "CĐ"),
    "BGN": ("Bản ghi nhớ", "BGN"),
    "BTT": ("Bản thỏa thuận", "BTT"),
    "GUQ": ("Giấy ủy quyền", "GUQ"),
    "GM": ("Giấy mời", "GM"),
    "GGT": ("Giấy giới thiệu", "GGT"),
    "GNP": ("Giấy nghỉ phép", "GNP"),
    "PG": ("Phiếu gửi", "PG"),
    "PC": ("Phiếu chuyển", "PC"),
    "PB": ("Phiếu báo", "PB"),
    "THC": ("Thư công", None),
}


def compose_notation(number: int, *, doc_type: str, issuer_notation: str, drafting_unit: str) -> str:
    """``01/VPUB-TTĐH`` for công văn (and thư công), ``15/QĐ-VPUB`` for other types (Decree 30)."""
    return f"{format_number(number)}/{notation_suffix(doc_type, issuer_notation, drafting_unit)}"


def notation_suffix(doc_type: str, issuer_notation: str, drafting_unit: str) -> str:
    """The part after the slash: ``VPUB-TTĐH`` (công văn) or ``QĐ-VPUB`` (other types)."""
    abbreviation = DOC_TYPES[doc_type][1]
    return f"{issuer_notation}-{drafting_unit}" if abbreviation is None else f"{abbreviation}-{issuer_notation}"


def format_number(number: int) -> str:
    """Numbers below 10 are zero-padded (``05``); others are written as they are."""
    return f"{number:02d}"


def place_and_date(place: str, day: Any | None) -> str:
    """``Cần Thơ, ngày 05 tháng 01 năm 2026``: day < 10 and months 1–2 zero-padded (Decree 30)."""
    if day is None:
        return f"{place}, ngày      tháng      năm"
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"
