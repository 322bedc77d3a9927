"""Bodies of the signing requests."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _base64(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("base64 text expected")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None


Base64Bytes = Annotated[bytes, BeforeValidator(_base64)]


class SigningRequestRead(BaseModel):
    """What the signer's client signs, and where to send the signature."""

    id: uuid.UUID
    directive_id: uuid.UUID
    signer_id: str
    mode: Literal["client", "remote"]
    status: Literal["pending", "completed", "abandoned", "expired"]
    expires_at: datetime
    digest_algorithm: Literal["sha256"] = "sha256"
    document_digest: str = Field(description="SHA-256 (hex) over the prepared revision's /ByteRange.")
    signed_attributes: str = Field(
        description=(
            "The CMS signed attributes (DER of the SET OF Attribute, base64) to sign: with an RSA key, "
            "RSASSA-PKCS1-v1_5 with SHA-256 over these bytes (CKM_SHA256_RSA_PKCS); with an EC key, ECDSA "
            "with SHA-256, the signature DER-encoded."
        )
    )
    signed_attributes_digest: str = Field(
        description="SHA-256 (hex) of the signed attributes, for tokens that sign a digest (CKM_RSA_PKCS + DigestInfo)."
    )
    certificate_sha256: str = Field(description="SHA-256 (hex) of the certificate the directory names for the signer.")
    signature_url: str = Field(description="Where to POST the signature.")


class SignatureSubmission(BaseModel):
    """The signature made by the signer's token."""

    model_config = ConfigDict(extra="forbid")

    signature: Annotated[Base64Bytes, Field(description="The signature value (base64).")]
    certificates: Annotated[
        list[Base64Bytes],
        Field(
            min_length=1,
            max_length=5,
            description="The signer's certificate first (DER, base64), then intermediate CA certificates.",
        ),
    ]


class SignatureAccepted(BaseModel):
    """The signature was embedded: the document is approved."""

    id: uuid.UUID
    directive_id: uuid.UUID
    status: Literal["completed"] = "completed"
    directive_status: str
    directive_version: int
    signed_sha256: str


class RemoteAuthorization(BaseModel):
    """The signer's authorisation for the remote signing service (never stored)."""

    model_config = ConfigDict(extra="forbid")

    pin: Annotated[str, Field(min_length=1, max_length=64, description="The signer's PIN for their credential.")]
    otp: Annotated[str, Field(min_length=1, max_length=16, description="The current one-time password.")]
