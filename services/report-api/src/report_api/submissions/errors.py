"""Problems of the submissions slice: reports and evidence files."""

from __future__ import annotations

from common.problems import NotFoundError, PayloadTooLargeError, UnprocessableError, UnsupportedMediaTypeError


class EvidenceNotFoundError(NotFoundError):
    title = "Evidence not found"


class ReportInvalidError(UnprocessableError):
    title = "The report does not match the template"


class EvidenceTooLargeError(PayloadTooLargeError):
    title = "The evidence file is too large"


class EvidenceTypeError(UnsupportedMediaTypeError):
    title = "Evidence must be a PDF, PNG or JPEG file"
