"""Problems a signing request can answer with."""

from __future__ import annotations

from common.problems import ConflictError, ForbiddenError, NotFoundError, ServiceUnavailableError, UnprocessableError


class SigningRequestNotFoundError(NotFoundError):
    title = "Signing request not found"


class NotTheSignerError(ForbiddenError):
    title = "Only the designated signer may see or answer this signing request"


class SigningRequestClosedError(ConflictError):
    title = "The signing request is no longer pending (completed, abandoned or expired)"


class SigningRequestExpiredError(ConflictError):
    title = "The signing request has expired; approve again for a new one"


class SignerCertificateMismatchError(UnprocessableError):
    title = "The signing certificate is not the one the directory names for the signer"


class CertificateNotTrustedError(UnprocessableError):
    title = "The signing certificate is expired, may not sign, or does not chain to a trusted root"


class SignatureInvalidError(UnprocessableError):
    title = "The signature does not verify over the signed attributes with the certificate's key"


class NotRemoteRequestError(ConflictError):
    title = "This signing request is not for the remote signing service"


class RemoteAuthorizationRefusedError(UnprocessableError):
    title = "The remote signing service refused the PIN or the one-time password"


class RemoteCredentialNotFoundError(ConflictError):
    title = "The remote signing service holds no credential with the directory's certificate for the signer"


class RemoteSigningUnavailableError(ServiceUnavailableError):
    title = "The remote signing service is unavailable"
