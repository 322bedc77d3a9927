"""PDF steps that run in the worker processes, never on the event loop.

Signing, sealing and verification are CPU-bound (tens to hundreds of milliseconds); on the event
loop they would stall every other request. These top-level functions take only picklable
arguments (key *descriptions*, not loaded keys) and load what they need once per worker process.
The web process imports this module to name the functions; pyHanko is imported inside them, so only
the workers load it (see common.pdf.pool).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.pdf import pool
from common.pdf.dev_pki import ensure_dev_pki
from common.pdf.results import PreparedSignature, RenderedPdf, VerificationReport

if TYPE_CHECKING:
    from common.pdf.ltv import RevocationSpec
    from common.pdf.model import DocumentView


@dataclass(frozen=True)
class KeySpec:
    """Where a signing key is: a PKCS#12 file (with its passphrase) or a PKCS#11 token."""

    pkcs12: str | None = None
    passphrase: bytes | None = None
    pkcs11_library: str | None = None
    pkcs11_token_label: str | None = None
    pkcs11_key_label: str | None = None
    pkcs11_pin: str | None = None

    def load(self) -> Any:
        """The pyHanko signer (cached per process by the loaders)."""
        from common.pdf.signing import load_pkcs11_signer, load_pkcs12_signer

        if self.pkcs12 is not None:
            return load_pkcs12_signer(self.pkcs12, self.passphrase)
        assert self.pkcs11_library and self.pkcs11_token_label and self.pkcs11_key_label
        return load_pkcs11_signer(
            self.pkcs11_library,
            token_label=self.pkcs11_token_label,
            user_pin=self.pkcs11_pin or "",
            key_label=self.pkcs11_key_label,
        )


@lru_cache(maxsize=4)
def _dev_timestamper(directory: str) -> Any:
    return ensure_dev_pki(Path(directory)).timestamper()


def _timestamper(spec: str | None) -> Any:
    if spec is None:
        return None
    if spec.startswith("dev:"):
        return _dev_timestamper(spec.removeprefix("dev:"))
    return spec


def _revocation(roots: tuple[bytes, ...]) -> RevocationSpec | None:
    # OCSP/CRL data is embedded (B-LT) for certificates that name a revocation service.
    from common.pdf.ltv import RevocationSpec

    return RevocationSpec(roots) if roots else None


def sign_job(
    rendered: RenderedPdf, key: KeySpec, image: str, tsa: str | None, reason: str, roots: tuple[bytes, ...] = ()
) -> bytes:
    """The signer's certification signature (in a worker process)."""
    from common.pdf.signing import sign_as_signer

    return sign_as_signer(
        rendered,
        key.load(),
        signature_image=Path(image),
        timestamper=_timestamper(tsa),
        reason=reason,
        revocation=_revocation(roots),
    )


def prepare_job(
    rendered: RenderedPdf,
    certificate_pem: bytes,
    image: str,
    timestamped: bool,
    reason: str,
    tsa: str | None = None,
    roots: tuple[bytes, ...] = (),
) -> PreparedSignature:
    """The signer's revision prepared for a signature made on their token (in a worker process)."""
    from common.pdf import deferred

    return deferred.prepare_deferred(
        rendered,
        deferred.load_certificate(certificate_pem),
        signature_image=Path(image),
        timestamped=timestamped,
        reason=reason,
        revocation=_revocation(roots),
        timestamper=_timestamper(tsa),
    )


def finish_job(
    prepared: PreparedSignature,
    certificate_der: bytes,
    chain_der: tuple[bytes, ...],
    signature: bytes,
    tsa: str | None,
    roots: tuple[bytes, ...],
    moment: dt.datetime,
) -> tuple[bytes, VerificationReport]:
    """Check the signer's certificate and signature, embed it, and verify the result (in a worker process).

    Raises:
        deferred.CertificateError: The certificate is expired, may not sign or does not chain to a root.
        deferred.SignatureValueError: The signature does not verify with the certificate's key.
    """
    from common.pdf import deferred
    from common.pdf.verify import verify_pdf

    certificate = deferred.load_certificate(certificate_der)
    chain = [deferred.load_certificate(der) for der in chain_der]
    trusted = [deferred.load_certificate(root) for root in roots]
    deferred.validate_certificate(certificate, chain, trusted, moment=moment)
    signed = deferred.finish_deferred(prepared, certificate, chain, signature, timestamper=_timestamper(tsa))
    return signed, verify_pdf(signed, list(roots), max_bytes=len(signed))


def seal_job(
    signed: bytes,
    key: KeySpec,
    image: str,
    number_text: str,
    date_text: str,
    tsa: str | None,
    roots: tuple[bytes, ...] = (),
) -> bytes:
    """Number, date and the organisation's seal (in a worker process)."""
    from common.pdf.signing import fill_and_seal

    return fill_and_seal(
        signed,
        key.load(),
        seal_image=Path(image),
        number_text=number_text,
        date_text=date_text,
        timestamper=_timestamper(tsa),
        revocation=_revocation(roots),
    )


def seal_and_verify_job(
    signed: bytes, key: KeySpec, image: str, number_text: str, date_text: str, tsa: str | None, roots: tuple[bytes, ...]
) -> tuple[bytes, VerificationReport]:
    """Seal, then verify the result as any reader will (in the same worker process)."""
    from common.pdf.verify import verify_pdf

    sealed = seal_job(signed, key, image, number_text, date_text, tsa, roots)
    return sealed, verify_pdf(sealed, list(roots), max_bytes=len(sealed))


def verify_job(pdf: bytes, roots: tuple[bytes, ...], max_bytes: int) -> VerificationReport:
    """Every signature of a PDF checked (in a worker process)."""
    from common.pdf.verify import verify_pdf

    return verify_pdf(pdf, list(roots), max_bytes=max_bytes)


def _warm_up_view() -> DocumentView:
    """A small công văn with every block a letter has (the throw-away document of the warm-up)."""
    from common.pdf.model import DocumentView, Paragraph, SignatureBlock

    return DocumentView(
        parent_body="ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ",
        issuer_name="VĂN PHÒNG",
        notation="VPUB-TTĐH",
        place="Cần Thơ",
        draft_month=1,
        draft_year=2026,
        subject="khởi động bộ dựng văn bản",
        addressees=("Sở Nội vụ",),
        body=(Paragraph(text="Văn bản thử, không lưu, dùng để nạp phông chữ và mẫu trình bày."),),
        signature=SignatureBlock(authority_lines=("CHÁNH VĂN PHÒNG",), signer_name="Nguyễn Văn A"),
        recipients=("Như trên",),
        archive_line="Lưu: VT.",
    )


def warm_up_job(
    signer: KeySpec | None,
    signer_image: str | None,
    seal: KeySpec | None,
    seal_image: str | None,
    tsa: str | None,
    roots: tuple[bytes, ...],
) -> None:
    """A worker's start-up (common.pdf.pool's warm-up): the keys loaded, and a throw-away document
    signed, numbered, sealed and verified as an approval and an issue do, so that the first real
    ones find pyHanko's lazily built tables, the keys and the timestamper ready. Nothing is kept."""
    from common.pdf.render import render_pdf
    from common.pdf.verify import verify_pdf

    rendered = render_pdf(_warm_up_view(), for_signing=True)
    if signer is None or signer_image is None:
        return
    signed = sign_job(rendered, signer, signer_image, tsa, "Khởi động")
    if seal is None or seal_image is None:
        return
    sealed = seal_job(signed, seal, seal_image, "Số: 01/VPUB-TTĐH", "Cần Thơ, ngày 02 tháng 01 năm 2026", tsa)
    if roots:
        verify_pdf(sealed, list(roots), max_bytes=len(sealed))


async def run(function: Any, *args: Any) -> Any:
    """Run ``function(*args)`` in the PDF worker processes."""
    return await pool.run(function, *args)
