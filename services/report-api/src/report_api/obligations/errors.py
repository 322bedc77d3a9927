"""Problems of the obligations slice."""

from __future__ import annotations

from common.problems import ConflictError, NotFoundError


class ObligationNotFoundError(NotFoundError):
    title = "Obligation not found"


class DirectiveNotFoundError(NotFoundError):
    title = "Document not found"


class ExtensionRequestNotFoundError(NotFoundError):
    title = "Extension request not found"


class ExtensionNotPendingError(ConflictError):
    title = "The extension request was already decided"


class ObligationClosedError(ConflictError):
    title = "The obligation is closed"
