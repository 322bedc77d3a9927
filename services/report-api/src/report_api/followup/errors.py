"""Problems of the bulk follow-up actions."""

from __future__ import annotations

from common.problems import ConflictError


class BulkTargetsError(ConflictError):
    """Some of the named obligations cannot take the action: nothing was done to any of them."""

    title = "Some obligations cannot take this action"
