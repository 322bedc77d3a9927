"""verify_pdf on hostile and unusual input: clean errors, no crash, no hang."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509

from common.pdf.dev_pki import DevPki, ensure_dev_pki
from common.pdf.model import DocumentView
from common.pdf.render import render_pdf
from common.pdf.verify import PdfVerificationError, verify_pdf

SignedLetter = Any  # conftest.SignedLetter


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b"%PDF-1.7\n",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
        b"%PDF-1.7\n" + b"[" * 100_000,
        b"%PDF-1.7\n1 0 obj << /A 1 0 R >> endobj\nxref\n0 1\n0000000000 65535 f \n"
        b"trailer << /Root 1 0 R /Size 1 >>\nstartxref\n9\n%%EOF",
    ],
    ids=["empty", "not-pdf", "header-only", "no-xref", "deep-nesting", "self-reference"],
)
def test_malformed_input_raises_a_clean_error(data: bytes, dev_pki: DevPki) -> None:
    started = time.perf_counter()
    with pytest.raises(PdfVerificationError):
        verify_pdf(data, [dev_pki.root_certificate()])
    assert time.perf_counter() - started < 5


def test_truncated_signed_file_raises_a_clean_error(signed_letter: SignedLetter) -> None:
    root = signed_letter.pki.root_certificate()
    for cut in (len(signed_letter.sealed) // 2, len(signed_letter.sealed) - 20, 2000):
        with pytest.raises(PdfVerificationError):
            verify_pdf(signed_letter.sealed[:cut], [root])


def test_oversized_input_is_refused_before_parsing(signed_letter: SignedLetter) -> None:
    with pytest.raises(PdfVerificationError, match="larger"):
        verify_pdf(signed_letter.sealed, [signed_letter.pki.root_certificate()], max_bytes=1000)


def test_unsigned_pdf_has_no_signatures(seed_view: Callable[..., DocumentView], dev_pki: DevPki) -> None:
    report = verify_pdf(render_pdf(seed_view()).pdf, [dev_pki.root_cert_pem.read_bytes()])
    assert report.signatures == () and not report.altered and not report.all_trusted_and_unaltered


def test_unknown_root_is_untrusted_but_not_altered(
    signed_letter: SignedLetter, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = ensure_dev_pki(tmp_path_factory.mktemp("other-pki"))
    report = verify_pdf(signed_letter.sealed, [other.root_certificate()])
    assert not report.altered
    assert all(sig.intact and sig.valid and not sig.trusted for sig in report.signatures)
    assert not report.all_trusted_and_unaltered


def test_trust_roots_are_required(signed_letter: SignedLetter) -> None:
    with pytest.raises(ValueError, match="trust root"):
        verify_pdf(signed_letter.sealed, [])
    assert isinstance(signed_letter.pki.root_certificate(), asn1_x509.Certificate)


def test_verdict_holds_until_the_first_signing_certificate_expires(signed_letter: SignedLetter) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12

    from common.pdf.verify import trust_fingerprint

    pki = signed_letter.pki
    expiries = []
    for path in (pki.signer_p12, pki.seal_p12):
        _, certificate, _ = pkcs12.load_key_and_certificates(path.read_bytes(), pki.passphrase)
        assert isinstance(certificate, x509.Certificate)
        expiries.append(certificate.not_valid_after_utc)
    report = verify_pdf(signed_letter.sealed, [pki.root_certificate()])
    assert report.valid_until == min(expiries)
    root_pem = pki.root_cert_pem.read_bytes()
    assert trust_fingerprint([root_pem]) == trust_fingerprint([pki.root_certificate()])
    assert trust_fingerprint([root_pem]) != trust_fingerprint([root_pem, _other_root()])


def _other_root() -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        return ensure_dev_pki(Path(folder)).root_cert_pem.read_bytes()
