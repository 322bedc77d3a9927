"""Problems the report API can answer with."""

from __future__ import annotations

from common.problems import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotAuthenticatedError,
    NotFoundError,
    PayloadTooLargeError,
    ServiceUnavailableError,
    UnprocessableError,
    UnsupportedMediaTypeError,
)


class ObligationNotFoundError(NotFoundError):
    title = "Obligation not found"


class DirectiveNotFoundError(NotFoundError):
    title = "Document not found"


class EvidenceNotFoundError(NotFoundError):
    title = "Evidence not found"


class ExtensionRequestNotFoundError(NotFoundError):
    title = "Extension request not found"


class OfficeOnlyError(ForbiddenError):
    title = "Only the Office's monitors and admins may do this"


class UnitOnlyError(ForbiddenError):
    title = "Only an officer of the addressee unit may do this"


class ReportInvalidError(UnprocessableError):
    title = "The report does not match the template"


class EvidenceTooLargeError(PayloadTooLargeError):
    title = "The evidence file is too large"


class EvidenceTypeError(UnsupportedMediaTypeError):
    title = "Evidence must be a PDF, PNG or JPEG file"


class WebhookRejectedError(NotAuthenticatedError):
    title = "The webhook signature was not accepted"


class WebhookNotConfiguredError(ServiceUnavailableError):
    title = "No webhook secret is configured"


class EventInvalidError(BadRequestError):
    title = "The event is not understood"


class ExtensionNotPendingError(ConflictError):
    title = "The extension request was already decided"


class ObligationClosedError(ConflictError):
    title = "The obligation is closed"


class NotAcceptableError(ConflictError):
    status = 406
    title = "Not acceptable"
