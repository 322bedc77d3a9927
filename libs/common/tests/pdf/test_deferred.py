"""Deferred signing: prepared here, signed by a key held elsewhere, embedded, then sealed and verified."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyhanko.sign.timestamps import TimeStamper

from common.pdf.deferred import (
    CertificateError,
    SignatureValueError,
    finish_deferred,
    load_certificate,
    prepare_deferred,
    validate_certificate,
)
from common.pdf.dev_pki import DevPki
from common.pdf.model import DocumentView
from common.pdf.render import render_pdf
from common.pdf.signing import fill_and_seal
from common.pdf.text import format_date_line, format_number
from common.pdf.verify import verify_pdf


def _token_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_a_signature_made_elsewhere_is_embedded_and_the_seal_follows(
    dev_pki: DevPki, timestamper: TimeStamper, seed_view: Callable[..., DocumentView]
) -> None:
    key = _token_key()
    certificate = load_certificate(dev_pki.certificate_for_key(key.public_key(), "Nguyễn Thực Hiện", "UBND"))
    root = load_certificate(dev_pki.root_cert_pem.read_bytes())
    view = seed_view()
    prepared = prepare_deferred(
        render_pdf(view, for_signing=True), certificate, signature_image=dev_pki.signature_png, timestamped=True
    )
    signature = key.sign(prepared.signed_attributes, padding.PKCS1v15(), hashes.SHA256())
    signed = finish_deferred(prepared, certificate, [], signature, timestamper=timestamper)
    sealed = fill_and_seal(
        signed,
        dev_pki.load_seal(),
        seal_image=dev_pki.seal_png,
        number_text=format_number(1, view.notation),
        date_text=format_date_line(view.place, dt.date(2026, 1, 5)),
        timestamper=timestamper,
    )
    report = verify_pdf(sealed, [root])
    assert not report.altered
    first, seal = report.signatures
    assert first.signer_common_name == "Nguyễn Thực Hiện"
    assert first.valid and first.intact and first.trusted and first.timestamp_present
    assert seal.covers_entire_file and seal.valid


def test_a_signature_by_another_key_is_refused(dev_pki: DevPki, seed_view: Callable[..., DocumentView]) -> None:
    key = _token_key()
    certificate = load_certificate(dev_pki.certificate_for_key(key.public_key(), "Nguyễn Thực Hiện", "UBND"))
    prepared = prepare_deferred(
        render_pdf(seed_view(), for_signing=True),
        certificate,
        signature_image=dev_pki.signature_png,
        timestamped=False,
    )
    wrong = _token_key().sign(prepared.signed_attributes, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(SignatureValueError):
        finish_deferred(prepared, certificate, [], wrong)


def test_expired_and_foreign_certificates_are_refused(
    dev_pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from common.pdf.dev_pki import ensure_dev_pki

    root = load_certificate(dev_pki.root_cert_pem.read_bytes())
    now = dt.datetime.now(dt.UTC)
    key = _token_key().public_key()
    good = load_certificate(dev_pki.certificate_for_key(key, "A", "B"))
    validate_certificate(good, [], [root], moment=now)
    expired = load_certificate(
        dev_pki.certificate_for_key(
            key, "A", "B", not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=1)
        )
    )
    with pytest.raises(CertificateError):
        validate_certificate(expired, [], [root], moment=now)
    other = ensure_dev_pki(tmp_path_factory.mktemp("other-ca"))
    foreign = load_certificate(other.certificate_for_key(key, "A", "B"))
    with pytest.raises(CertificateError):
        validate_certificate(foreign, [], [root], moment=now)


def test_a_deferred_signature_leaves_the_annex_reference_to_the_issue(dev_pki: DevPki, tmp_path: Path) -> None:
    from doc_type_fixtures import fixtures

    key = _token_key()
    certificate = load_certificate(dev_pki.certificate_for_key(key.public_key(), "Trương Cảnh Tuyên", "UBND"))
    view = fixtures()["QĐ"]
    prepared = prepare_deferred(
        render_pdf(view, for_signing=True), certificate, signature_image=dev_pki.signature_png, timestamped=False
    )
    signed = finish_deferred(
        prepared, certificate, [], key.sign(prepared.signed_attributes, padding.PKCS1v15(), hashes.SHA256())
    )
    sealed = fill_and_seal(
        signed,
        dev_pki.load_seal(),
        seal_image=dev_pki.seal_png,
        number_text=format_number(31, view.notation),
        date_text=format_date_line(view.place, dt.date(2026, 3, 9)),
    )
    path = tmp_path / "issued.pdf"
    path.write_bytes(sealed)
    text = " ".join(
        subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout.split()
    )
    assert "(Kèm theo Quyết định số 31/QĐ-UBND ngày 09 tháng 3 năm 2026 của Chủ tịch Ủy ban nhân dân thành phố)" in text
    report = verify_pdf(sealed, [load_certificate(dev_pki.root_cert_pem.read_bytes())])
    assert not report.altered and report.signatures[0].modification == "form_filling"
