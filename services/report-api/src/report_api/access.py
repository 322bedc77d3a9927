"""Who the caller is for report-api: the Office (its monitors and admins) or an addressee unit's officer.

Pure predicates on the token's principal; the rows a caller may read are selected by the slices'
repositories (``obligations.repository.readable_statement``, ``events.repository.visible_to``).

The one visibility rule: the Office reads every unit's obligations and their events; anyone else
reads only those of the unit its token names. It applies to the obligation reads, to the event feed
(the caller's unit) and to webhooks (the subscription owner's unit, which it subscribed with).
"""

from __future__ import annotations

from enum import StrEnum

from common.auth import Principal
from common.problems import ForbiddenError
from report_api.settings import Settings


class Role(StrEnum):
    """Roles of the token's ``roles`` claim that report-api knows."""

    unit_officer = "unit_officer"
    monitor = "monitor"
    admin = "admin"
    integration = "integration"
    system = "system"
    """Internal: changes caused by directive-api's events and by the timers (never in a token)."""


OFFICE_ROLES = frozenset({Role.monitor.value, Role.admin.value})


class OfficeOnlyError(ForbiddenError):
    title = "Only the Office's monitors and admins may do this"


class FeedReaderOnlyError(ForbiddenError):
    title = "Only integrations and the Office's monitors and admins read the event feed"


class UnitOnlyError(ForbiddenError):
    title = "Only an officer of the addressee unit may do this"


def is_office(actor: Principal, settings: Settings) -> bool:
    """A monitor or admin of the Office."""
    return actor.has_any(*OFFICE_ROLES) and actor.unit == settings.office_unit_code


def is_office_admin(actor: Principal, settings: Settings) -> bool:
    """An admin of the Office (sees every webhook subscription)."""
    return actor.has_any(Role.admin.value) and actor.unit == settings.office_unit_code


def is_unit_officer(actor: Principal) -> bool:
    """An officer answering for a unit (the token names the unit)."""
    return actor.has_any(Role.unit_officer.value) and bool(actor.unit)


def is_feed_reader(actor: Principal, settings: Settings) -> bool:
    """Who reads report-api's event feed: the role integration of a unit, or the Office.

    An integration token must name its unit: that is what scopes what it reads (the Office's
    integration reads every unit's events, a ward's e-office its ward's)."""
    return (actor.has_any(Role.integration.value) and bool(actor.unit)) or is_office(actor, settings)


def event_reader_unit(actor: Principal, settings: Settings) -> str:
    """403 unless the caller reads the event feed; returns the unit it reads as (the Office's
    code: every unit's events; another code: the events of that unit's obligations only)."""
    if not is_feed_reader(actor, settings):
        raise FeedReaderOnlyError(
            f"needs the role integration with a 'unit' claim, or monitor/admin of unit {settings.office_unit_code}"
        )
    assert actor.unit is not None
    return actor.unit


def require_office(actor: Principal, settings: Settings) -> None:
    """403 unless the caller follows compliance for the Office."""
    if not is_office(actor, settings):
        raise OfficeOnlyError(f"needs the role monitor or admin of unit {settings.office_unit_code}")


def require_unit_officer(actor: Principal) -> str:
    """403 unless the caller answers for a unit; returns the unit code."""
    if not is_unit_officer(actor):
        raise UnitOnlyError("needs the role unit_officer and a 'unit' claim")
    assert actor.unit is not None
    return actor.unit
