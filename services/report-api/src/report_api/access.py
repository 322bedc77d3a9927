"""Who the caller is for report-api: the Office (its monitors and admins) or an addressee unit's officer.

Pure predicates on the token's principal; the rows a caller may read are selected by the slices'
repositories (``obligations.repository.readable_statement``).
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
    """Who reads report-api's event feed: the role integration, or the Office."""
    return actor.has_any(Role.integration.value) or is_office(actor, settings)


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
