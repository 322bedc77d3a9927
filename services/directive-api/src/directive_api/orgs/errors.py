"""Problems of the directory's units and groups."""

from __future__ import annotations

from common.problems import NotFoundError


class UnitNotFoundError(NotFoundError):
    title = "Unit not found"


class GroupNotFoundError(NotFoundError):
    title = "Group not found"
