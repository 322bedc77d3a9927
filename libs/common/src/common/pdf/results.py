"""What the PDF steps take and return, without the PDF stack: boxes, rendered and prepared files,
verification reports and the errors of signing and verification.

The web processes hand documents to the PDF worker processes (:mod:`common.pdf.pool`) and receive
these objects back; unpickling a result imports its class's module. Here they import only the
standard library and pydantic, so a web process never loads WeasyPrint or pyHanko (some 60 MB
resident) for work it never runs. :mod:`common.pdf.render`, :mod:`common.pdf.fields`,
:mod:`common.pdf.signing`, :mod:`common.pdf.deferred` and :mod:`common.pdf.verify` re-export them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "ANNEX_REFERENCE_PREFIX",
    "FIELD_DATE",
    "FIELD_NUMBER",
    "FIELD_SEAL",
    "FIELD_SIGNATURE",
    "AnnexReference",
    "CertificateError",
    "Coverage",
    "FieldBox",
    "Modification",
    "PdfVerificationError",
    "PreparedSignature",
    "ReferencePart",
    "RenderedPdf",
    "RevocationError",
    "SignatureReport",
    "SignatureValueError",
    "SigningError",
    "VerificationReport",
    "annex_reference_field",
    "certificate_der",
    "load_certificate",
    "trust_fingerprint",
]

FIELD_NUMBER = "doc_number"
"""Text field holding the number line (value: ``01/VP-TTĐH``)."""
FIELD_DATE = "issue_date"
"""Text field holding the place-and-date line (value: ``Hà Nội, ngày 27 tháng 11 năm 2026``)."""
FIELD_SIGNATURE = "signer_signature"
"""Signature field of the competent signer (blue signature image)."""
FIELD_SEAL = "organisation_seal"
"""Signature field of the organisation (red seal image)."""


@dataclass(frozen=True)
class FieldBox:
    """A rectangle on a page, in PDF points from the bottom-left corner of the page.

    Attributes:
        page: Zero-based page index.
        x1: Left edge.
        y1: Bottom edge.
        x2: Right edge.
        y2: Top edge.
    """

    page: int
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        """Width in points."""
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        """Height in points."""
        return self.y2 - self.y1

    def as_tuple(self) -> tuple[float, float, float, float]:
        """Return ``(x1, y1, x2, y2)``."""
        return (self.x1, self.y1, self.x2, self.y2)


ANNEX_REFERENCE_PREFIX = "annex_reference_"

ReferencePart = tuple[Literal["text", "number", "date"], str]
"""A piece of the reference: literal text, or the slot of the number or of the ``ngày … năm …`` phrase
(its text is what a document without them prints: the blank form)."""


def annex_reference_field(annex: int, line: int) -> str:
    """Name of the field of line ``line`` (from 1) of the reference of annex ``annex`` (from 1)."""
    return f"{ANNEX_REFERENCE_PREFIX}{annex}_{line}"


@dataclass(frozen=True)
class AnnexReference:
    """The reserved reference line(s) of one annex of a document rendered for signing.

    Attributes:
        annex: The annex, from 1.
        parts: The wording, with the number and date slots.
        boxes: One box per reserved line, top to bottom.
        placeholders: What each line shows until it is filled (the blank form).
    """

    annex: int
    parts: tuple[ReferencePart, ...]
    boxes: tuple[FieldBox, ...]
    placeholders: tuple[str, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        """The names of its fields, line by line."""
        return tuple(annex_reference_field(self.annex, line) for line in range(1, len(self.boxes) + 1))


@dataclass(frozen=True)
class RenderedPdf:
    """A rendered, unsigned document and the positions reserved in it.

    Attributes:
        pdf: The PDF file.
        page_count: Number of pages.
        signature_box: Where the signer's signature image goes (between the title and the name).
        seal_box: Where the seal image goes (its right edge at one third of the signature box).
        number_box: Where the number line's text field goes (rendered for signing without a number),
            else None.
        date_box: Where the date line's text field goes (rendered for signing without a date), else None.
        number_placeholder: The blank number line the empty field shows, if any.
        date_placeholder: The blank date line the empty field shows, if any.
        annex_references: The reference lines of the annexes, reserved as fields (rendered for
            signing without a number or date).
    """

    pdf: bytes
    page_count: int
    signature_box: FieldBox
    seal_box: FieldBox
    number_box: FieldBox | None = None
    date_box: FieldBox | None = None
    number_placeholder: str | None = None
    date_placeholder: str | None = None
    annex_references: tuple[AnnexReference, ...] = ()

    @property
    def text_fields(self) -> tuple[str, ...]:
        """Names of the empty text fields the signer's revision creates (to be filled at issue)."""
        names = []
        if self.number_box is not None:
            names.append(FIELD_NUMBER)
        if self.date_box is not None:
            names.append(FIELD_DATE)
        for reference in self.annex_references:
            names.extend(reference.field_names)
        return tuple(names)


class SigningError(Exception):
    """The document cannot be signed, filled or sealed as asked (missing or already filled fields)."""


class RevocationError(SigningError):
    """A certificate is revoked, or its revocation status cannot be established: nothing was signed."""


class CertificateError(SigningError):
    """The signer's certificate is unreadable, expired or does not chain to a trusted root."""


class SignatureValueError(SigningError):
    """The signature value does not verify over the signed attributes with the certificate's key."""


@dataclass(frozen=True)
class PreparedSignature:
    """What :func:`common.pdf.deferred.prepare_deferred` leaves for :func:`~common.pdf.deferred.finish_deferred`.

    Attributes:
        pdf: The prepared file: the signer's revision with a zero-filled signature container.
        document_digest: SHA-256 over the file's ``/ByteRange``.
        reserved_start: Offset of the reserved ``/Contents`` region.
        reserved_end: End offset of the reserved region.
        signed_attributes: The CMS signed attributes (DER of the SET), what the token signs.
    """

    pdf: bytes
    document_digest: bytes
    reserved_start: int
    reserved_end: int
    signed_attributes: bytes


def certificate_der(data: bytes) -> bytes:
    """The DER of a certificate given as DER, PEM or base64 DER bytes (parsed with ``cryptography``).

    Raises:
        CertificateError: The bytes are not a certificate.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
        return x509.load_der_x509_certificate(data).public_bytes(Encoding.DER)
    except (ValueError, TypeError) as exc:
        raise CertificateError("not an X.509 certificate") from exc


def load_certificate(data: bytes) -> Any:
    """A certificate from DER, PEM or base64 DER bytes, as an ``asn1crypto.x509.Certificate`` (what
    pyHanko's validators take).

    Raises:
        CertificateError: The bytes are not a certificate.
    """
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(certificate_der(data))


class PdfVerificationError(Exception):
    """The input is not a PDF that can be verified (too large, malformed, unreadable signatures)."""


Modification = Literal["none", "lta_updates", "form_filling", "annotations", "other", "unknown"]
"""What changed after a signature: nothing, archival timestamps/DSS, form filling (and further
signatures), annotations, anything else; ``unknown`` when it could not be analysed."""

Coverage = Literal["entire_file", "entire_revision", "contiguous_block_from_start", "unclear"]
"""How much of the file a signature's byte range covers."""

_ACCEPTABLE_AFTER_SIGNING: frozenset[Modification] = frozenset({"none", "lta_updates", "form_filling"})


class SignatureReport(BaseModel):
    """The verdict on one signature (or document timestamp).

    Attributes:
        field_name: Name of the signature field.
        kind: ``"signature"`` or ``"document_timestamp"``.
        signer_common_name: Common name of the signing certificate's subject.
        signing_time: The timestamp's time when there is one, else the time the signer claimed.
        timestamp_present: Whether an RFC 3161 signature timestamp is embedded.
        intact: The digest over the signed byte range matches (the signed bytes are unchanged).
        valid: The cryptographic signature verifies.
        trusted: The signing certificate chains to one of the given roots.
        modification: What changed in the file after this signature.
        docmdp_ok: Whether the changes respect the document's modification permissions (None when
            not analysed).
        coverage: How much of the file the signature covers.
        covers_entire_file: ``coverage == "entire_file"``.
    """

    model_config = ConfigDict(frozen=True)

    field_name: str
    kind: Literal["signature", "document_timestamp"]
    signer_common_name: str | None
    signing_time: dt.datetime | None
    timestamp_present: bool
    intact: bool
    valid: bool
    trusted: bool
    modification: Modification
    docmdp_ok: bool | None
    coverage: Coverage
    covers_entire_file: bool

    @property
    def altered_after(self) -> bool:
        """True when this signature is broken or the file changed after it beyond form filling."""
        return (
            not self.intact
            or not self.valid
            or self.docmdp_ok is False
            or self.modification not in _ACCEPTABLE_AFTER_SIGNING
            or self.coverage not in ("entire_file", "entire_revision")
        )


class VerificationReport(BaseModel):
    """The verdict on a whole file.

    Attributes:
        signatures: One report per signature, in file order.
        altered: True if any signature is not intact or not valid, or the file changed after any
            signature beyond form filling, further signatures and archival updates.
    """

    model_config = ConfigDict(frozen=True)

    signatures: tuple[SignatureReport, ...]
    altered: bool
    valid_until: dt.datetime | None = None
    """When the first signing certificate expires: until then the same bytes under the same roots
    get the same verdict, so it may be stored and reused (see :func:`trust_fingerprint`)."""

    @property
    def all_trusted_and_unaltered(self) -> bool:
        """True when the file is signed, unaltered, and every signature is trusted."""
        return bool(self.signatures) and not self.altered and all(s.trusted for s in self.signatures)


def trust_fingerprint(trust_roots: Sequence[Any]) -> str:
    """SHA-256 over the sorted DER of the trust roots: a stored verdict holds only for the same roots.

    Args:
        trust_roots: PEM or DER bytes, or ``asn1crypto`` certificates (anything with ``dump()``).

    Raises:
        ValueError: No root is given.
        CertificateError: A root is not a certificate.
    """
    if not trust_roots:
        raise ValueError("at least one trust root is required")
    ders = sorted(certificate_der(root) if isinstance(root, bytes) else root.dump() for root in trust_roots)
    return hashlib.sha256(b"".join(hashlib.sha256(der).digest() for der in ders)).hexdigest()
