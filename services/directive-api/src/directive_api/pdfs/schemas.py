"""Response bodies of PDF verification and of the public verification pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pydantic import BaseModel

from directive_api.pdfs.models import FileKind


class SignatureResult(BaseModel):
    """One signature of the file; see docs/api.md "Verifying a PDF" for how the fields combine."""

    field_name: str
    """The PDF signature field."""
    kind: str
    """`signature` (the signer's, or the organisation's seal) or `document_timestamp`."""
    signer: str | None
    """The common name of the signing certificate."""
    signing_time: str | None
    """The time the signature claims (from the timestamp when `timestamped`)."""
    timestamped: bool
    """An RFC 3161 timestamp token is embedded."""
    intact: bool
    """The bytes this signature covers are unchanged (their digest matches the signed one)."""
    signature_verifies: bool
    """The signature value checks out with the certificate over the signed attributes; it says
    nothing about the file's bytes on its own (a byte-flipped file keeps this true)."""
    valid: bool
    """The signature holds for this file: `intact` and `signature_verifies`. A signature whose
    bytes changed is never valid."""
    trusted: bool
    """The signing certificate chains to one of the configured trust roots."""
    changes_after: str
    """What was added after this signature: `none`, `lta_updates`, `form_filling` (number and date
    filled in, the seal), `annotations`, `other`, `unknown`."""
    covers_entire_file: bool
    """The signature covers the whole file as received (nothing appended after it)."""


class RegisteredDocument(BaseModel):
    id: uuid.UUID
    public_id: str
    notation: str | None
    status: str
    issued_on: str | None
    is_current_e_original: bool
    """True when the uploaded file is byte for byte the issued PDF on record."""


class VerificationResult(BaseModel):
    sha256: str
    signatures: list[SignatureResult]
    altered: bool
    """True when any signature is broken or the file changed after a signature beyond filling the number and date."""
    trusted: bool
    registered_document: RegisteredDocument | None
    verdict: str
    """`valid`, `altered`, `untrusted`, `unsigned`, `recalled` or `replaced`."""


class PublicReplacement(BaseModel):
    notation: str
    public_id: str
    verify_url: str
    """The replacement's public verification page."""


class PublicDocument(BaseModel):
    """What the public may know of an issued document (nothing of drafts, no internal ids)."""

    public_id: str
    notation: str | None
    doc_type: str
    """The type's Vietnamese name, e.g. `Công văn`."""
    issued_on: str | None
    issuer: str
    subject: str
    status: str
    """`issued`, `dispatched`, `archived`, `recalled` or `replaced`."""
    status_text: str
    """The status in Vietnamese, as the verification page shows it."""
    verify_url: str
    replaced_by: PublicReplacement | None
    """For a replaced document: the document that replaced it (when issued)."""


class HashLookupResult(BaseModel):
    sha256: str
    found: bool
    """True when this hash is the issued (sealed) PDF of a document of this office."""
    message: str
    """The answer in Vietnamese."""
    document: PublicDocument | None


class PublicVerificationResult(BaseModel):
    sha256: str
    verdict: str
    """As for `POST /v1/verify`: `valid`, `altered`, `untrusted`, `unsigned`, `recalled` or `replaced`."""
    verdict_text: str
    """The verdict in Vietnamese."""
    altered: bool
    trusted: bool
    signatures: list[SignatureResult]
    document: PublicDocument | None
    """The registered document whose issued PDF has this hash, if any."""


@dataclass(frozen=True)
class PdfFile:
    """A stored PDF ready to send."""

    data: bytes
    file_name: str
    sha256: str
    kind: FileKind
