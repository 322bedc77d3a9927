"""Validation data embedded at signing (PAdES B-LT) where the certificates offer OCSP or a CRL.

A signature made with a :class:`RevocationSpec` is validated before it is made, against the trust
roots, with revocation checked where the signer's certificate (and the TSA's) name an OCSP
responder or a CRL: the OCSP responses, CRLs and certificates fetched go into the document security
store (``/DSS``) **in the signature's own revision** (pyHanko's ``TOGETHER_WITH_SIGNATURE``), so the
file validates as B-LT without network as of its signature timestamps, and the seal, the last
signature, still covers the entire file. No ``/VRI`` entries: they can only be written in a later
revision (ETSI EN 319 142-1 does not require them). No archive timestamp (B-LTA) is added.

A certificate that names neither OCSP nor CRL (trust roots without revocation services) is signed
as before, B-T with a timestamp (B-B without), and :func:`revocation_context` logs that it did so.
A revoked certificate, one whose OCSP responder answers other than ``good`` (``unknown``: a
certificate outside the CA's records, which a CRL listing only revocations would let through), or
revocation information that cannot be fetched, refuses the signature
(``common.pdf.signing.RevocationError``; :func:`ocsp_refusal`).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import InsufficientRevinfoError, PathValidationError, RevokedError
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

__all__ = [
    "RevocationSpec",
    "declares_revocation",
    "dss_counts",
    "dss_ocsp_statuses",
    "ltv_metadata",
    "ocsp_refusal",
    "revocation_context",
    "revocation_failure",
]

logger = logging.getLogger(__name__)

DSS_SETTINGS = DSSContentSettings(placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE, include_vri=False)


@dataclass(frozen=True)
class RevocationSpec:
    """What a signing step needs to embed validation data (picklable: it goes to worker processes).

    Attributes:
        trust_roots: Root certificates (PEM or DER) the signer's and the TSA's chains end in.
        timeout_seconds: Per request to an OCSP responder or CRL server.
    """

    trust_roots: tuple[bytes, ...]
    timeout_seconds: float = 10.0

    def roots(self) -> list[asn1_x509.Certificate]:
        """The trust roots, parsed."""
        return [asn1_x509.Certificate.load(pem.unarmor(r)[2] if pem.detect(r) else r) for r in self.trust_roots]


def declares_revocation(certificate: asn1_x509.Certificate) -> bool:
    """Whether the certificate names an OCSP responder or a CRL distribution point."""
    return bool(certificate.ocsp_urls or certificate.crl_distribution_points)


@asynccontextmanager
async def revocation_context(
    spec: RevocationSpec | None, certificate: asn1_x509.Certificate | None
) -> AsyncIterator[ValidationContext | None]:
    """A validation context that fetches OCSP responses and CRLs, or None when there is nothing to fetch.

    None (the signature stays B-T) when no ``spec`` is given or the certificate names no revocation
    service; that is logged. The HTTP session is closed on exit.
    """
    if spec is None or certificate is None:
        yield None
        return
    if not declares_revocation(certificate):
        logger.info(
            "no OCSP or CRL for %s: the signature carries no revocation data (PAdES B-T)",
            certificate.subject.human_friendly,
        )
        yield None
        return
    backend = AIOHttpFetcherBackend(per_request_timeout=spec.timeout_seconds)
    # The validation time is fixed when the context is made, the OCSP answer fetched afterwards: on a
    # busy host, or with a responder whose clock runs a little ahead, its thisUpdate falls after that
    # time and pyHanko's default 1 s tolerance calls it "too recent" (seen: a revoked certificate
    # reported as "cannot be established" instead of "revoked").
    context: Any = ValidationContext(
        trust_roots=spec.roots(),
        allow_fetching=True,
        revocation_mode="hard-fail",
        fetcher_backend=backend,
        time_tolerance=REVOCATION_CLOCK_TOLERANCE,
    )
    try:
        yield context
    finally:
        await backend.close()  # type: ignore[no-untyped-call]


REVOCATION_CLOCK_TOLERANCE = dt.timedelta(minutes=5)
"""How far an OCSP response or CRL may be dated after the validation time and still count."""


def ltv_metadata(context: ValidationContext | None) -> dict[str, Any]:
    """``PdfSignatureMetadata`` arguments that embed the context's validation data (none without one)."""
    if context is None:
        return {}
    return {"embed_validation_info": True, "validation_context": context, "dss_settings": DSS_SETTINGS}


def revocation_failure(exc: BaseException) -> str | None:
    """What a pre-signing validation failure means (a sentence), or None if it is another error."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, RevokedError):
            return f"the certificate is revoked: {cause}"
        if isinstance(cause, InsufficientRevinfoError):
            return f"the revocation status of the certificate cannot be established: {cause}"
        if isinstance(cause, PathValidationError):
            return f"the certificate does not validate against the trust roots: {cause}"
        cause = cause.__cause__ or cause.__context__
    return None


def ocsp_refusal(context: ValidationContext | None, certificate: asn1_x509.Certificate) -> str | None:
    """Why a signature with ``certificate`` is refused on the OCSP answers the validation fetched, or None.

    pyHanko's validation falls back to the CRL when OCSP answers ``unknown``, and a CRL lists only
    revocations: a certificate outside the CA's records would pass, and verifiers (pdfsig) then
    report the embedded ``unknown`` answer. Any answer for this certificate other than ``good`` refuses.
    """
    if context is None:
        return None
    for response in context.ocsps:
        if response["response_status"].native != "successful":
            continue
        for single in response.basic_ocsp_response["tbs_response_data"]["responses"]:
            cert_id = single["cert_id"]
            if cert_id["serial_number"].native != certificate.serial_number:
                continue
            name_hash = getattr(certificate.issuer, cert_id["hash_algorithm"]["algorithm"].native, None)
            if name_hash is not None and name_hash != cert_id["issuer_name_hash"].native:
                continue  # the same serial from another issuer
            status = single["cert_status"].name
            if status != "good":
                return (
                    f"the OCSP responder answers {status!r} for the certificate of "
                    f"{certificate.subject.human_friendly} (serial {certificate.serial_number:x}), not 'good'"
                )
    return None


def dss_counts(pdf: bytes) -> tuple[int, int]:
    """How many OCSP responses and CRLs the file's ``/DSS`` holds (0, 0 without one)."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    dss = reader.root.get("/DSS")
    if dss is None:
        return 0, 0
    dss = dss.get_object()
    return len(dss.get("/OCSPs", ())), len(dss.get("/CRLs", ()))


def dss_ocsp_statuses(pdf: bytes) -> dict[int, str]:
    """Certificate serial → status (``good``, ``revoked``, ``unknown``) of the OCSP answers in the ``/DSS``."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    dss = reader.root.get("/DSS")
    statuses: dict[int, str] = {}
    for ref in dss.get_object().get("/OCSPs", ()) if dss is not None else ():
        response = asn1_ocsp.OCSPResponse.load(ref.get_object().data)
        for single in response.basic_ocsp_response["tbs_response_data"]["responses"]:
            statuses[single["cert_id"]["serial_number"].native] = single["cert_status"].name
    return statuses
