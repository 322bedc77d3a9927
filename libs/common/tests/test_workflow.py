"""The workflow engine's rules, independent of any service."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from common.auth import Principal
from common.problems import ForbiddenError
from common.workflow import CommentRequiredError, Transition, TransitionNotAllowedError, WorkflowDefinition


@dataclass
class Item:
    id: int
    status: str
    version: int
    owner: str


def _definition() -> WorkflowDefinition:
    return WorkflowDefinition.build(
        "item",
        1,
        states=["open", "done", "rejected"],
        initial="open",
        transitions=[
            Transition("finish", frozenset({"open"}), "done", frozenset({"worker"}), designated_attribute="owner"),
            Transition("reject", frozenset({"open"}), "rejected", frozenset({"boss"}), comment_required=True),
        ],
    )


def _who(subject: str, *roles: str) -> Principal:
    return Principal(subject=subject, name=subject, roles=frozenset(roles), unit="U")


def test_definitions_refuse_unknown_states_and_duplicates() -> None:
    with pytest.raises(ValueError, match="unknown states"):
        WorkflowDefinition.build(
            "x", 1, states=["a"], initial="a", transitions=[Transition("t", frozenset({"a"}), "b", frozenset({"r"}))]
        )
    with pytest.raises(ValueError, match="duplicate"):
        WorkflowDefinition.build(
            "x",
            1,
            states=["a", "b"],
            initial="a",
            transitions=[
                Transition("t", frozenset({"a"}), "b", frozenset()),
                Transition("t", frozenset({"b"}), "a", frozenset()),
            ],
        )
    with pytest.raises(ValueError, match="initial"):
        WorkflowDefinition.build("x", 1, states=["a"], initial="z", transitions=[])


def test_check_enforces_role_person_state_and_comment() -> None:
    definition = _definition()
    item = Item(1, "open", 1, owner="ann")
    finish, reject = definition.get("finish"), definition.get("reject")
    definition.check(item, finish, _who("ann", "worker"), {})
    with pytest.raises(ForbiddenError):
        definition.check(item, finish, _who("bob", "worker"), {})  # not the designated person
    with pytest.raises(ForbiddenError):
        definition.check(item, finish, _who("ann", "boss"), {})  # wrong role
    with pytest.raises(CommentRequiredError):
        definition.check(item, reject, _who("cat", "boss"), {"comment": "  "})
    done = Item(1, "done", 2, owner="ann")
    with pytest.raises(TransitionNotAllowedError):
        definition.check(done, finish, _who("ann", "worker"), {})
    assert definition.available(item, _who("ann", "worker")) == ["finish"]
    assert definition.available(item, _who("cat", "boss")) == ["reject"]
    assert definition.available(done, _who("ann", "worker", "boss")) == []
