"""The document workflow (version 1) and the Decree 30 document types."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from common.auth import Principal
from common.problems import ForbiddenError
from common.workflow import Transition, WorkflowDefinition


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


def _signer_returns_only_own(entity: Any, actor: Principal, _context: Mapping[str, Any]) -> None:
    if not actor.has_any(Role.reviewer) and str(entity.signer_id) != actor.id:
        raise ForbiddenError("only the designated signer or a reviewer may return this document", action="return")


SYSTEM_ROLE = "system"
"""The role of the service's own timers (never in a token: ``Role`` does not list it)."""

INTERNAL_TRANSITIONS = frozenset({"request_signature", "complete_signature", "expire_signature"})
"""Transitions fired by the service itself (through ``approve``, a signing request or a timer),
never by a route of their own."""

S = DirectiveStatus
DIRECTIVE_WORKFLOW = WorkflowDefinition.build(
    "directive",
    1,
    states=[s.value for s in DirectiveStatus],
    initial=S.draft.value,
    transitions=[
        Transition(
            name="submit",
            sources=frozenset({S.draft.value, S.returned.value}),
            target=S.submitted.value,
            roles=frozenset({Role.drafter.value, Role.integration.value}),
            description="The drafter sends the draft up the approval chain.",
        ),
        Transition(
            name="review",
            sources=frozenset({S.submitted.value}),
            target=S.reviewed.value,
            roles=frozenset({Role.reviewer.value}),
            description="Optional: the head of the drafting division vouches for the content.",
        ),
        Transition(
            name="return",
            sources=frozenset({S.submitted.value, S.reviewed.value}),
            target=S.returned.value,
            roles=frozenset({Role.reviewer.value, Role.signer.value}),
            comment_required=True,
            guards=(_signer_returns_only_own,),
            description="A reviewer or the designated signer sends it back to the drafter, with a comment.",
        ),
        Transition(
            name="approve",
            sources=frozenset({S.submitted.value, S.reviewed.value}),
            target=S.approved.value,
            roles=frozenset({Role.signer.value}),
            designated_attribute="signer_id",
            description="The designated signer approves (and, with PDF signing, signs) the document.",
        ),
        Transition(
            name="request_signature",
            sources=frozenset({S.submitted.value, S.reviewed.value}),
            target=S.awaiting_signature.value,
            roles=frozenset({Role.signer.value}),
            designated_attribute="signer_id",
            description=(
                "Approval by a signer whose signature is made on their own token or by a remote signing "
                "service: the prepared revision waits for the signature (fired by `approve`)."
            ),
        ),
        Transition(
            name="complete_signature",
            sources=frozenset({S.awaiting_signature.value}),
            target=S.approved.value,
            roles=frozenset({Role.signer.value}),
            designated_attribute="signer_id",
            description="The signer's signature arrived, was validated and embedded (fired by the signing request).",
        ),
        Transition(
            name="abandon_signature",
            sources=frozenset({S.awaiting_signature.value}),
            target=S.submitted.value,
            roles=frozenset({Role.signer.value}),
            designated_attribute="signer_id",
            description="The signer gives up signing now: the document returns to `submitted`.",
        ),
        Transition(
            name="expire_signature",
            sources=frozenset({S.awaiting_signature.value}),
            target=S.submitted.value,
            roles=frozenset({SYSTEM_ROLE}),
            description="No signature arrived before the signing request expired: back to `submitted`.",
        ),
        Transition(
            name="issue",
            sources=frozenset({S.approved.value}),
            target=S.issued.value,
            roles=frozenset({Role.clerk.value}),
            description="The clerk gives it the next number of the register and the issue date, and seals it.",
        ),
        Transition(
            name="dispatch",
            sources=frozenset({S.issued.value}),
            target=S.dispatched.value,
            roles=frozenset({Role.clerk.value}),
            description="The clerk sends it to every addressee and information recipient (one delivery each).",
        ),
        Transition(
            name="archive",
            sources=frozenset({S.dispatched.value, S.replaced.value}),
            target=S.archived.value,
            roles=frozenset({Role.clerk.value}),
            description="The clerk files the e-original into a records file (hồ sơ); it can never change again.",
        ),
        Transition(
            name="recall",
            sources=frozenset({S.issued.value, S.dispatched.value}),
            target=S.recalled.value,
            roles=frozenset({Role.clerk.value, Role.signer.value}),
            comment_required=True,
            description=(
                "Thu hồi: our copy is frozen, recipients are told, obligations close; the comment is the reason."
            ),
        ),
        Transition(
            name="replace",
            sources=frozenset({S.issued.value, S.dispatched.value}),
            target=S.replaced.value,
            roles=frozenset({Role.clerk.value}),
            description="An issued document (`replacement_id`) supersedes this one; obligations move to it.",
        ),
    ],
)

FROZEN_STATUSES = frozenset({DirectiveStatus.archived, DirectiveStatus.recalled})


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
