"""The single exception type of the edXML library and its machine-readable codes."""

from __future__ import annotations

from enum import StrEnum


class EdxmlErrorCode(StrEnum):
    """Why an edXML package was refused (or could not be built).

    The values are stable strings meant for API responses, logs and metrics.
    """

    TOO_LARGE = "too_large"
    """The input, or a decoded attachment, exceeds a configured size cap."""

    TOO_COMPLEX = "too_complex"
    """Too many elements, too deep a nesting, or too many attachments."""

    FORBIDDEN_DTD = "forbidden_dtd"
    """The input carries a DOCTYPE (DTD, entity declarations, external entities)."""

    MALFORMED = "malformed"
    """The input is not well-formed XML, or is not text in a supported encoding."""

    NOT_EDXML = "not_edxml"
    """Well-formed XML, but not an edXML (QCVN 102:2016) package."""

    INVALID_PACKAGE = "invalid_package"
    """An edXML package that lacks mandatory parts or carries unusable values."""

    UNEXPECTED_PACKAGE_TYPE = "unexpected_package_type"
    """A status package where a document package was expected, or the reverse."""

    INVALID_SIGNATURE = "invalid_signature"
    """The XML signature is missing where one is required, malformed, or does not verify."""

    INVALID_DOCUMENT_ID = "invalid_document_id"
    """A DocumentId that does not follow ``OrganId,yyyy/MM/dd,<number>/<notation>``."""


class EdxmlError(Exception):
    """An edXML package was refused, or a package could not be built.

    Attributes:
        code: Machine-readable reason (see :class:`EdxmlErrorCode`).
        message: Human-readable explanation (English, safe to log: never contains
            the package payload beyond short excerpts).
    """

    def __init__(self, code: EdxmlErrorCode, message: str) -> None:
        """Create the error.

        Args:
            code: Machine-readable reason.
            message: Human-readable explanation.
        """
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
