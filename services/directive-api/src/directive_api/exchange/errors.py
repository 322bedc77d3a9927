"""Problems of the edXML exchange."""

from __future__ import annotations

from common.problems import ConflictError, ForbiddenError, NotFoundError, UnprocessableError


class NotIssuedError(ConflictError):
    title = "The document has not been issued"


class UnknownDocumentError(UnprocessableError):
    title = "The package refers to no document of ours"


class InvalidPackageError(UnprocessableError):
    title = "The edXML package was refused"


class MissingOrganIdError(UnprocessableError):
    """Some recipients (or the issuer) have no exchange identifier; the body lists them in ``units``."""

    title = "Units without an exchange identifier (organ_id)"


class RecalledDocumentError(ConflictError):
    title = "A recalled or replaced document is not exported as a new document"


class QuarantinedPackageNotFoundError(NotFoundError):
    title = "Quarantined package not found"


class QuarantineResolvedError(ConflictError):
    title = "The quarantined package was already resolved"


class UnknownUnitError(UnprocessableError):
    title = "Unknown unit"


class InvalidSignatureError(UnprocessableError):
    title = "The package's XML signature is missing or does not verify"


class SealNotUsableError(ConflictError):
    title = "The seal key cannot sign edXML packages"


class SenderNotBoundError(ForbiddenError):
    title = "The package's sender is not the caller's unit"
