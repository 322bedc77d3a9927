"""Problems of a document's PDFs: signing and sealing, verification, the public pages."""

from __future__ import annotations

from common.problems import ConflictError, ProblemError
from directive_api.events.errors import DirectiveNotFoundError as DirectiveNotFoundError


class SigningKeyMissingError(ConflictError):
    title = "No signing key is configured for this signer or issuer"


class SignerRetiredError(ConflictError):
    title = "The designated signer is retired from the directory"


class SigningFailedError(ConflictError):
    title = "The document could not be signed"


class SigningModeUnavailableError(ConflictError):
    title = "The signer's signing mode is not available"


class SignerCertificateMissingError(ConflictError):
    title = "The directory names no signing certificate for this signer"


class TooManyRequestsError(ProblemError):
    status = 429
    title = "Too many requests"


class InvalidHashError(ProblemError):
    status = 422
    title = "Invalid SHA-256"


class NotIssuedHereError(ProblemError):
    status = 404
    title = "Not an issued document"
