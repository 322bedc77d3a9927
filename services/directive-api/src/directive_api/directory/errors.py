"""Problems the directory can answer with."""

from __future__ import annotations

from common.problems import ConflictError, ForbiddenError, UnprocessableError
from directive_api.orgs.errors import GroupNotFoundError, UnitNotFoundError
from directive_api.people.errors import PersonNotFoundError

__all__ = [
    "DirectoryEntryExistsError",
    "GroupInUseError",
    "GroupNotFoundError",
    "InvalidDirectoryEntryError",
    "NotDirectoryAdminError",
    "PersonInUseError",
    "PersonNotFoundError",
    "UnitInUseError",
    "UnitNotFoundError",
]


class DirectoryEntryExistsError(ConflictError):
    title = "An entry with this code already exists"


class UnitInUseError(ConflictError):
    title = "The unit is in use: it can be retired, not deleted"


class GroupInUseError(ConflictError):
    title = "The group is in use and cannot be deleted"


class PersonInUseError(ConflictError):
    title = "The person is named by documents: they can be retired, not deleted"


class InvalidDirectoryEntryError(UnprocessableError):
    title = "The directory entry refers to something that does not exist or is invalid"


class NotDirectoryAdminError(ForbiddenError):
    title = "Only the Office's administrators may change the directory"
