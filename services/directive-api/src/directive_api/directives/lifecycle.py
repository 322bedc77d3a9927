"""The document workflow (version 1): who moves a document from which state to which."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.auth import Principal
from common.problems import ForbiddenError
from common.workflow import Transition, WorkflowDefinition
from directive_api.directives.states import (
    DOC_TYPES,
    EDITABLE_STATUSES,
    FROZEN_STATUSES,
    ISSUED_STATUSES,
    OFFICE_ROLES,
    PRE_ISSUE_STATUSES,
    TERMINAL_STATUSES,
    DirectiveStatus,
    Role,
    compose_notation,
    format_number,
    notation_suffix,
    place_and_date,
)

__all__ = [  # the states are re-exported for the modules that imported them from here
    "DIRECTIVE_WORKFLOW",
    "DOC_TYPES",
    "EDITABLE_STATUSES",
    "FROZEN_STATUSES",
    "INTERNAL_TRANSITIONS",
    "ISSUED_STATUSES",
    "OFFICE_ROLES",
    "PRE_ISSUE_STATUSES",
    "SYSTEM_ROLE",
    "TERMINAL_STATUSES",
    "DirectiveStatus",
    "Role",
    "compose_notation",
    "format_number",
    "notation_suffix",
    "place_and_date",
]


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
