"""The status sets are defined once and agree with the workflow; the typed addressee views read
the stored JSON as it is."""

from __future__ import annotations

from directive_api.directives.lifecycle import DIRECTIVE_WORKFLOW
from directive_api.directives.models import (
    AddresseeRef,
    Directive,
    InfoRecipientRef,
    addressee_refs,
    info_recipient_refs,
    recipient_keys,
)
from directive_api.directives.states import (
    EDITABLE_STATUSES,
    FROZEN_STATUSES,
    ISSUED_STATUSES,
    PRE_ISSUE_STATUSES,
    TERMINAL_STATUSES,
    DirectiveStatus,
)
from directive_api.seed.loader import seed_letter


def test_status_sets_partition_the_states_and_match_the_workflow() -> None:
    everything = frozenset(DirectiveStatus)
    assert frozenset(DIRECTIVE_WORKFLOW.states) == everything
    assert everything == PRE_ISSUE_STATUSES | ISSUED_STATUSES
    assert not PRE_ISSUE_STATUSES & ISSUED_STATUSES
    assert EDITABLE_STATUSES < PRE_ISSUE_STATUSES
    assert FROZEN_STATUSES < ISSUED_STATUSES
    left = {source for transition in DIRECTIVE_WORKFLOW.transitions.values() for source in transition.sources}
    assert everything - left == TERMINAL_STATUSES
    # Only ``issue`` leads from a pre-issue state to an issued one (it takes the number).
    crossing = {
        t.name
        for t in DIRECTIVE_WORKFLOW.transitions.values()
        if t.target in ISSUED_STATUSES and t.sources <= PRE_ISSUE_STATUSES
    }
    assert crossing == {"issue"}


def test_status_column_is_typed_by_the_enum() -> None:
    column = Directive.__table__.c.status
    assert column.type.python_type is DirectiveStatus
    assert column.type.length == 20  # VARCHAR(20), as the migrations made it


def test_typed_views_of_the_seed_letter() -> None:
    letter = seed_letter()
    addressees = addressee_refs(letter["addressees"])
    copies = info_recipient_refs(letter["info_recipients"])
    assert addressees[0] == AddresseeRef(group="department")
    assert copies[0] == InfoRecipientRef(as_above=True)
    assert InfoRecipientRef(units=("MTTQ",), label="UB MTTQVN TP") in copies
    keys = recipient_keys(addressees, copies)
    assert ("group", "commune_level") in keys
    assert {("unit", "CATP"), ("unit", "BCHQS"), ("unit", "CTTĐT")} <= keys
    assert not any(kind == "unit" and code.startswith("VP UBND") for kind, code in keys)  # text lines name no unit
