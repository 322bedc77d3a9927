"""Deferred (interrupted) signing: the signer's key is not here, it signs on the signer's own token.

pyHanko's interrupted signing (``PdfSigner.async_digest_doc_for_signing`` with an
``ExternalSigner``, then ``PdfTBSDocument.async_finish_signing``) split in two steps that may run
in different processes, minutes apart:

1. :func:`prepare_deferred` renders the same revision :func:`common.pdf.signing.sign_as_signer`
   would sign (blank number and date fields, signature fields, certification with the field lock),
   reserves the signature container and returns the prepared file, the digest of its byte range
   and the CMS signed attributes (DER) the signer's token must sign.
2. :func:`finish_deferred` checks the signature value against the certificate, builds the CMS
   (with a signature timestamp when a TSA is given: PAdES B-T) and writes it into the reserved
   region.

With a :class:`~common.pdf.ltv.RevocationSpec`, :func:`prepare_deferred` validates the signer's
certificate (and the TSA's) with revocation checked and writes the OCSP responses and CRLs into the
prepared revision's ``/DSS``: the finished signature is PAdES B-LT without another revision.

:func:`validate_certificate` checks the signer's certificate chain against the trust roots (validity
period included) before the signature is accepted.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509 as pyca_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from common.pdf import aio
from common.pdf.fields import FIELD_SIGNATURE
from common.pdf.ltv import RevocationSpec, ltv_metadata, ocsp_refusal, revocation_context
from common.pdf.results import (
    CertificateError,
    PreparedSignature,
    RenderedPdf,
    RevocationError,
    SignatureValueError,
    SigningError,
    load_certificate,
)
from common.pdf.signing import (
    DIGEST_ALGORITHM,
    ImageSource,
    TimestamperSpec,
    _bytes_reserved,
    _revocation_error,
    _signature_metadata,
    _stamp_style,
    _timestamper,
    _writer,
    add_blank_text_fields,
    prepare_signature_fields,
)

__all__ = [
    "DIGEST_ALGORITHM",
    "CertificateError",
    "PreparedSignature",
    "SignatureValueError",
    "finish_deferred",
    "load_certificate",
    "prepare_deferred",
    "validate_certificate",
]


_CertificateStore: Any = SimpleCertificateStore  # its constructor is untyped


def _external_signer(
    certificate: asn1_x509.Certificate, chain: Sequence[asn1_x509.Certificate], signature_value: bytes | int
) -> signers.ExternalSigner:
    return signers.ExternalSigner(
        signing_cert=certificate,
        cert_registry=_CertificateStore.from_certs(list(chain)),
        signature_value=signature_value,
    )


def _placeholder_size(certificate: asn1_x509.Certificate) -> int:
    # The placeholder's length only sizes the dry run; the reservation covers up to RSA-4096.
    key = certificate.public_key
    return key.bit_size // 8 if key.algorithm == "rsa" else 72


async def prepare_deferred_async(
    rendered: RenderedPdf,
    certificate: asn1_x509.Certificate,
    chain: Sequence[asn1_x509.Certificate] = (),
    *,
    signature_image: ImageSource,
    timestamped: bool,
    reason: str | None = None,
    revocation: RevocationSpec | None = None,
    timestamper: TimestamperSpec = None,
) -> PreparedSignature:
    """Async variant of :func:`prepare_deferred`."""
    writer = _writer(rendered.pdf)
    add_blank_text_fields(writer, rendered)
    prepare_signature_fields(writer, rendered)
    external = _external_signer(certificate, chain, _placeholder_size(certificate))
    # Reserve room for the timestamp token added when the signature arrives.
    reserve = _bytes_reserved(external, None) + (2 * 8_192 if timestamped else 0)
    async with revocation_context(revocation, certificate) as context:
        meta = signers.PdfSignatureMetadata(
            **_signature_metadata(FIELD_SIGNATURE, certify=True, docmdp=MDPPerm.FILL_FORMS, reason=reason),
            **ltv_metadata(context),
        )
        # The timestamper is only asked for its chain's validation data here; the signature
        # timestamp itself is added by :func:`finish_deferred`.
        stamper = _timestamper(timestamper) if context is not None else None
        pdf_signer = signers.PdfSigner(
            meta, signer=external, timestamper=stamper, stamp_style=_stamp_style(signature_image)
        )
        try:
            prepared, _tbs, output = await pdf_signer.async_digest_doc_for_signing(writer, bytes_reserved=reserve)
        except Exception as exc:
            if (error := _revocation_error(pdf_signer, exc)) is not None:
                raise error from exc
            raise
        if (refusal := ocsp_refusal(context, certificate)) is not None:
            raise RevocationError(refusal)
    attributes = await external.signed_attrs(prepared.document_digest, DIGEST_ALGORITHM, use_pades=True)
    assert isinstance(output, io.BytesIO)
    return PreparedSignature(
        pdf=output.getvalue(),
        document_digest=prepared.document_digest,
        reserved_start=prepared.reserved_region_start,
        reserved_end=prepared.reserved_region_end,
        signed_attributes=attributes.dump(),
    )


def prepare_deferred(
    rendered: RenderedPdf,
    certificate: asn1_x509.Certificate,
    chain: Sequence[asn1_x509.Certificate] = (),
    *,
    signature_image: ImageSource,
    timestamped: bool,
    reason: str | None = None,
    revocation: RevocationSpec | None = None,
    timestamper: TimestamperSpec = None,
) -> PreparedSignature:
    """Prepare the signer's certification signature for a key held elsewhere.

    Args:
        rendered: Output of ``render_pdf(view, for_signing=True)``.
        certificate: The signer's certificate (it is named in the signed attributes).
        chain: Intermediate certificates to embed.
        signature_image: The blue signature PNG.
        timestamped: Whether :func:`finish_deferred` will add a signature timestamp (room is reserved).
        reason: Optional ``/Reason``.
        revocation: Trust roots to validate the certificate against; the OCSP responses and CRLs
            it (and the TSA's certificate) name are embedded in the prepared revision (B-LT).
        timestamper: The TSA :func:`finish_deferred` will use, for its validation data (with
            ``revocation`` only).

    Returns:
        The prepared file, its digest and the signed attributes to sign.

    Raises:
        RevocationError: The certificate is revoked, its OCSP responder answers ``unknown`` (it is
            outside the CA's records), or its revocation status cannot be fetched.
    """
    return aio.run(
        prepare_deferred_async(
            rendered,
            certificate,
            chain,
            signature_image=signature_image,
            timestamped=timestamped,
            reason=reason,
            revocation=revocation,
            timestamper=timestamper,
        )
    )


def check_signature_value(certificate: asn1_x509.Certificate, signed_attributes: bytes, signature: bytes) -> None:
    """Verify ``signature`` over ``signed_attributes`` with the certificate's public key.

    RSA keys: PKCS#1 v1.5 with SHA-256; EC keys: ECDSA with SHA-256, DER-encoded (r, s).

    Raises:
        SignatureValueError: It does not verify.
    """
    key = pyca_x509.load_der_x509_certificate(certificate.dump()).public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed_attributes, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed_attributes, ec.ECDSA(hashes.SHA256()))
        else:
            raise SignatureValueError("only RSA and EC signing keys are supported")
    except (InvalidSignature, ValueError) as exc:
        raise SignatureValueError(
            "the signature does not verify over the signed attributes with the certificate's key"
        ) from exc


async def finish_deferred_async(
    prepared: PreparedSignature,
    certificate: asn1_x509.Certificate,
    chain: Sequence[asn1_x509.Certificate],
    signature: bytes,
    *,
    timestamper: TimestamperSpec = None,
) -> bytes:
    """Async variant of :func:`finish_deferred`."""
    check_signature_value(certificate, prepared.signed_attributes, signature)
    external = _external_signer(certificate, chain, signature)
    attributes = cms.CMSAttributes.load(prepared.signed_attributes)
    container = await external.async_sign_prescribed_attributes(
        DIGEST_ALGORITHM, signed_attrs=attributes, timestamper=_timestamper(timestamper)
    )
    output = io.BytesIO(prepared.pdf)
    digest = PreparedByteRangeDigest(
        document_digest=prepared.document_digest,
        reserved_region_start=prepared.reserved_start,
        reserved_region_end=prepared.reserved_end,
    )
    try:
        await PdfTBSDocument.async_finish_signing(output, digest, container)
    except Exception as exc:  # pyHanko raises plain errors when the container does not fit
        raise SigningError(f"the signature could not be embedded: {exc}") from exc
    return output.getvalue()


def finish_deferred(
    prepared: PreparedSignature,
    certificate: asn1_x509.Certificate,
    chain: Sequence[asn1_x509.Certificate],
    signature: bytes,
    *,
    timestamper: TimestamperSpec = None,
) -> bytes:
    """Embed a signature made elsewhere into the prepared file.

    Args:
        prepared: What :func:`prepare_deferred` returned.
        certificate: The signer's certificate (the one named in the signed attributes).
        chain: Intermediate certificates to embed.
        signature: The signature value over ``prepared.signed_attributes``.
        timestamper: RFC 3161 TSA for the signature timestamp, or None.

    Returns:
        The signed PDF.

    Raises:
        SignatureValueError: The signature does not verify with the certificate's key.
        SigningError: It cannot be embedded.
    """
    return aio.run(finish_deferred_async(prepared, certificate, chain, signature, timestamper=timestamper))


async def validate_certificate_async(
    certificate: asn1_x509.Certificate,
    chain: Sequence[asn1_x509.Certificate],
    trust_roots: Sequence[asn1_x509.Certificate],
    *,
    moment: dt.datetime,
) -> None:
    """Async variant of :func:`validate_certificate`."""
    context = ValidationContext(
        trust_roots=list(trust_roots), allow_fetching=False, moment=moment, revocation_mode="soft-fail"
    )
    validator = CertificateValidator(certificate, intermediate_certs=list(chain), validation_context=context)
    try:
        await validator.async_validate_usage({"digital_signature"})  # type: ignore[no-untyped-call]
    except Exception as exc:  # certvalidator raises one of several path/validity errors
        raise CertificateError(f"the signer's certificate is not valid: {exc}") from exc


def validate_certificate(
    certificate: asn1_x509.Certificate,
    chain: Sequence[asn1_x509.Certificate],
    trust_roots: Sequence[asn1_x509.Certificate],
    *,
    moment: dt.datetime,
) -> None:
    """Check that the certificate is within its validity at ``moment``, may sign, and chains to a root.

    Raises:
        CertificateError: It does not.
    """
    aio.run(validate_certificate_async(certificate, chain, trust_roots, moment=moment))


def b64(data: bytes) -> str:
    """Standard base64 (the signing request's encoding)."""
    return base64.b64encode(data).decode()
