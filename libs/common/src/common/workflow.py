"""A small, declarative workflow engine shared by the services.

A :class:`WorkflowDefinition` names its states and transitions; each :class:`Transition` says from
which states it may fire, where it leads, which roles may fire it, optionally which *person* alone
may fire it (the designated signer of a document), guards that must pass, and effects that run in
the same transaction after the state change.

:meth:`WorkflowEngine.fire` enforces all of that and then changes the state with a conditional
``UPDATE … WHERE id = :id AND status = :from AND version = :version``: when two requests race, one
update matches and the other gets a 409. A history row is written in the same transaction, so a
state change without its history entry (or the reverse) can never be committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Integer, String, Text, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from common.audit import AuditChainMixin
from common.auth import Principal
from common.db import JSONType, UTCDateTime, utc_now
from common.problems import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    UnprocessableError,
)


class TransitionNotAllowedError(ConflictError):
    title = "Transition not allowed in the current state"


class ConcurrentTransitionError(ConflictError):
    title = "The resource was changed by another request"


class UnknownTransitionError(NotFoundError):
    title = "Unknown action"


class VersionMismatchError(PreconditionFailedError):
    title = "The resource has changed since it was read"


class CommentRequiredError(UnprocessableError):
    title = "A comment is required for this action"


Guard = Callable[[Any, Principal, Mapping[str, Any]], None]
"""Raises a ProblemError when the transition must not happen."""

Effect = Callable[[AsyncSession, Any, Principal, Mapping[str, Any]], Awaitable[None]]
"""Runs after the state change, in the same transaction."""


@dataclass(frozen=True)
class Transition:
    """One allowed move of the workflow."""

    name: str
    sources: frozenset[str]
    target: str
    roles: frozenset[str]
    designated_attribute: str | None = None
    """Name of the entity attribute holding the only person id allowed to fire it."""
    comment_required: bool = False
    guards: tuple[Guard, ...] = ()
    effects: tuple[Effect, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class WorkflowDefinition:
    """A versioned set of states and transitions."""

    name: str
    version: int
    states: frozenset[str]
    initial: str
    transitions: Mapping[str, Transition] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        name: str,
        version: int,
        *,
        states: Iterable[str],
        initial: str,
        transitions: Iterable[Transition],
    ) -> WorkflowDefinition:
        """Validate and assemble a definition (unknown states or duplicate names are refused)."""
        state_set = frozenset(states)
        table: dict[str, Transition] = {}
        for transition in transitions:
            if transition.name in table:
                raise ValueError(f"duplicate transition {transition.name!r}")
            unknown = (transition.sources | {transition.target}) - state_set
            if unknown:
                raise ValueError(f"transition {transition.name!r} uses unknown states {sorted(unknown)}")
            table[transition.name] = transition
        if initial not in state_set:
            raise ValueError(f"initial state {initial!r} is not a state")
        return cls(name=name, version=version, states=state_set, initial=initial, transitions=table)

    def get(self, name: str) -> Transition:
        """The transition called ``name``."""
        try:
            return self.transitions[name]
        except KeyError:
            raise UnknownTransitionError(f"{self.name} has no action {name!r}") from None

    def check(self, entity: Any, transition: Transition, actor: Principal, context: Mapping[str, Any]) -> None:
        """Raise the right problem if ``actor`` may not fire ``transition`` on ``entity`` now."""
        if not actor.has_any(*transition.roles):
            raise ForbiddenError(
                f"'{transition.name}' needs one of the roles: {', '.join(sorted(transition.roles))}",
                action=transition.name,
            )
        if transition.designated_attribute is not None:
            designated = getattr(entity, transition.designated_attribute)
            if designated is None or str(designated) != actor.id:
                raise ForbiddenError(
                    f"only the designated person may '{transition.name}' this item", action=transition.name
                )
        status = _state(entity.status)
        if status not in transition.sources:
            raise TransitionNotAllowedError(
                f"cannot '{transition.name}' while the status is '{status}'",
                action=transition.name,
                current_status=status,
            )
        if transition.comment_required and not (context.get("comment") or "").strip():
            raise CommentRequiredError(f"'{transition.name}' needs a comment")
        for guard in transition.guards:
            guard(entity, actor, context)

    def available(self, entity: Any, actor: Principal) -> list[str]:
        """The actions ``actor`` could fire on ``entity`` now (ignoring guards that need input)."""
        names = []
        status = _state(entity.status)
        for transition in self.transitions.values():
            # The cheap refusals first, without building an exception (this runs on every read).
            if status not in transition.sources or not actor.has_any(*transition.roles):
                continue
            try:
                self.check(entity, transition, actor, {"comment": "-"})
            except (ForbiddenError, ConflictError, UnprocessableError):
                continue
            names.append(transition.name)
        return names


def _state(value: Any) -> str:
    return str(getattr(value, "value", value))


class HistoryFactory(Protocol):
    """Builds the history row of one transition (each service owns its history table)."""

    def __call__(
        self,
        *,
        entity: Any,
        transition: Transition,
        from_state: str,
        to_state: str,
        actor: Principal,
        comment: str | None,
        definition: WorkflowDefinition,
    ) -> Any: ...


H = TypeVar("H")

HISTORY_FIELDS = (
    "action",
    "from_status",
    "to_status",
    "actor_id",
    "actor_name",
    "actor_roles",
    "comment",
    "version",
    "workflow",
    "workflow_version",
    "at",
)
"""The columns of :class:`WorkflowHistoryMixin` that the hash chain covers (after the entity's id)."""


class WorkflowHistoryMixin(AuditChainMixin):
    """Columns of a service's history table: one row per change of an entity, who did what, when,
    from which state to which, and why; append-only and hash-chained (:mod:`common.audit`).

    The service adds the column naming the entity and the chained fields::

        class DirectiveHistory(WorkflowHistoryMixin, Model):
            __tablename__ = "directive_history"
            __audit_fields__ = ("directive_id", *HISTORY_FIELDS)

            directive_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("directives.id"), index=True)
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_roles: Mapped[list[str]] = mapped_column(JSONType)
    comment: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    """The entity's version this entry produced."""
    workflow: Mapped[str] = mapped_column(String(60))
    workflow_version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


def history_entry(
    model: Callable[..., H],
    key: str,
    entity: Any,
    action: str,
    actor: Principal,
    *,
    from_status: str | None,
    to_status: str,
    definition: WorkflowDefinition,
    comment: str | None = None,
    at: datetime | None = None,
) -> H:
    """One row of a service's history table, for a transition or any other change of ``entity``.

    The table has the columns ``key`` (the entity's id, e.g. ``directive_id``), ``action``,
    ``from_status``, ``to_status``, ``actor_id``, ``actor_name``, ``actor_roles``, ``comment``,
    ``version`` (the entity's version after the change), ``workflow``, ``workflow_version`` and ``at``.
    """
    return model(
        **{key: entity.id},
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor_id=actor.id,
        actor_name=actor.name,
        actor_roles=sorted(actor.roles),
        comment=comment,
        version=entity.version,
        workflow=definition.name,
        workflow_version=definition.version,
        at=at or utc_now(),
    )


def history_factory(model: Callable[..., Any], key: str) -> HistoryFactory:
    """The engine's :class:`HistoryFactory` writing :func:`history_entry` rows of ``model``."""

    def build(
        *,
        entity: Any,
        transition: Transition,
        from_state: str,
        to_state: str,
        actor: Principal,
        comment: str | None,
        definition: WorkflowDefinition,
    ) -> Any:
        return history_entry(
            model,
            key,
            entity,
            transition.name,
            actor,
            from_status=from_state,
            to_status=to_state,
            definition=definition,
            comment=comment,
        )

    return build


class WorkflowEngine:
    """Fires transitions of one definition on one mapped entity class."""

    def __init__(self, definition: WorkflowDefinition, *, model: type[Any], history: HistoryFactory) -> None:
        self.definition = definition
        self.model = model
        self.history = history

    async def fire(
        self,
        session: AsyncSession,
        entity: Any,
        name: str,
        actor: Principal,
        *,
        expected_version: int | None = None,
        comment: str | None = None,
        context: Mapping[str, Any] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Any:
        """Fire transition ``name``; returns the history row written.

        ``values`` are extra columns set by the same conditional UPDATE (e.g. who approved).
        Raises 403 (role or person), 409 (state, or lost race), 412 (stale version), 422 (comment).
        """
        transition = self.definition.get(name)
        ctx = dict(context or {})
        ctx["comment"] = comment
        self.definition.check(entity, transition, actor, ctx)
        if expected_version is not None and entity.version != expected_version:
            raise VersionMismatchError(
                f"version {expected_version} was expected, the current version is {entity.version}",
                current_version=entity.version,
            )
        from_state = _state(entity.status)
        now = utc_now()
        new_values: dict[str, Any] = {"status": transition.target, "version": entity.version + 1}
        if hasattr(self.model, "updated_at"):
            new_values["updated_at"] = now
        new_values.update(values or {})
        result = await session.execute(
            update(self.model)
            .where(
                self.model.id == entity.id,
                self.model.status == from_state,
                self.model.version == entity.version,
            )
            .values(**new_values)
            .execution_options(synchronize_session=False)
        )
        if not isinstance(result, CursorResult) or result.rowcount != 1:
            raise ConcurrentTransitionError("another request changed this item first; reload and retry")
        for key, value in new_values.items():
            _set_committed(entity, key, value)
        row = self.history(
            entity=entity,
            transition=transition,
            from_state=from_state,
            to_state=transition.target,
            actor=actor,
            comment=comment,
            definition=self.definition,
        )
        session.add(row)
        for effect in transition.effects:
            await effect(session, entity, actor, ctx)
        return row


def _set_committed(entity: Any, key: str, value: Any) -> None:
    # The row was already updated in the database: record the new values as loaded state so the
    # unit of work does not issue a second UPDATE for them.
    set_committed_value(entity, key, value)
