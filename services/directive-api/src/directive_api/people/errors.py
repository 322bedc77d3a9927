"""Problems of the directory's people."""

from __future__ import annotations

from common.problems import NotFoundError


class PersonNotFoundError(NotFoundError):
    title = "Person not found"
