"""Problems the directives API can answer with."""

from __future__ import annotations

from common.problems import ConflictError, NotFoundError, UnprocessableError
from directive_api.events.errors import DirectiveNotFoundError, DirectiveNotVisibleError

__all__ = [
    "DirectiveNotEditableError",
    "DirectiveNotFoundError",
    "DirectiveNotVisibleError",
    "DocumentRuleError",
    "InvalidReferenceError",
    "RegisterNotFoundError",
    "RetiredRecipientError",
]


class DirectiveNotEditableError(ConflictError):
    title = "The document can no longer be edited"


class InvalidReferenceError(UnprocessableError):
    title = "The document refers to something that does not exist"


class RetiredRecipientError(ConflictError):
    """``units`` lists the recipient units retired from the directory since the document was drafted."""

    title = "The document is addressed to units retired from the directory"


class RegisterNotFoundError(NotFoundError):
    title = "Register not found"


class DocumentRuleError(UnprocessableError):
    """Each entry of ``errors`` names the rule (``nd30.quyet-dinh.basis-required``), where, and why."""

    title = "The document breaks a rule of Decree 30/2020"
