"""PAdES B-LT: the development CA serves a CRL and OCSP (its own process), signatures embed its answers.

The CA process is ``scripts/dev_ca.py`` over real HTTP; the signed and sealed letter is checked with
pyHanko's validators (online with revocation checked, then offline with the embedded data only) and
with poppler's ``pdfsig``; a certificate revoked after signing fails validation, a revoked one signs
nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import TimeStamper

from common.pdf.deferred import finish_deferred, load_certificate, prepare_deferred
from common.pdf.dev_pki import DevPki, ensure_dev_pki
from common.pdf.ltv import RevocationSpec, dss_counts, dss_ocsp_statuses
from common.pdf.model import DocumentView
from common.pdf.render import render_pdf
from common.pdf.signing import RevocationError, fill_and_seal, load_pkcs12_signer, sign_as_signer
from common.pdf.text import format_date_line, format_number
from common.pdf.verify import verify_pdf
from common.testing import nss_trust_db

ROOT = Path(__file__).resolve().parents[4]
PYHANKO = Path(sys.executable).parent / "pyhanko"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class DevCa:
    pki: DevPki
    url: str
    spec: RevocationSpec
    timestamper: TimeStamper


@contextlib.contextmanager
def running_ca(folder: Path) -> Iterator[DevCa]:
    """``scripts/dev_ca.py`` serving the PKI in ``folder`` (its own process), stopped on exit."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "dev_ca.py"), "--pki", str(folder), "--port", str(port)]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a busy machine
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the development CA did not start"
            assert process.poll() is None, "the development CA exited"
            time.sleep(0.1)
        pki = ensure_dev_pki(folder)
        assert pki.revocation_url == url
        yield DevCa(pki, url, RevocationSpec((pki.root_cert_pem.read_bytes(),)), pki.timestamper())
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def dev_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCa]:
    folder = tmp_path_factory.mktemp("pki-ca")
    ensure_dev_pki(folder)  # made before the CA knew its URL: its certificates are re-issued
    with running_ca(folder) as ca:
        yield ca


def _cert(p12: Path, pki: DevPki) -> x509.Certificate:
    signer = load_pkcs12_signer(p12, pki.passphrase)
    assert signer.signing_cert is not None
    return x509.load_der_x509_certificate(signer.signing_cert.dump())


def _ocsp_status(ca: DevCa, cert: x509.Certificate) -> ocsp.OCSPResponse:
    root = x509.load_pem_x509_certificate(ca.pki.root_cert_pem.read_bytes())
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, root, hashes.SHA256()).build()
    answer = httpx.post(
        f"{ca.url}/ocsp",
        content=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
        timeout=10,
    )
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/ocsp-response"
    response = ocsp.load_der_ocsp_response(answer.content)
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    # Signed by the root itself (no delegated responder certificate).
    assert response.signature_hash_algorithm is not None
    root_key = root.public_key()
    assert isinstance(root_key, ec.EllipticCurvePublicKey)
    root_key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(response.signature_hash_algorithm))
    return response


def _issue(
    ca: DevCa, view: DocumentView, signer_p12: Path, seal_p12: Path, *, revocation: RevocationSpec | None
) -> bytes:
    pki = ca.pki
    signed = sign_as_signer(
        render_pdf(view, for_signing=True),
        load_pkcs12_signer(signer_p12, pki.passphrase),
        signature_image=pki.signature_png,
        timestamper=ca.timestamper,
        revocation=revocation,
    )
    return fill_and_seal(
        signed,
        load_pkcs12_signer(seal_p12, pki.passphrase),
        seal_image=pki.seal_png,
        number_text=format_number(1, view.notation),
        date_text=format_date_line(view.place, dt.date(2026, 12, 2)),
        timestamper=ca.timestamper,
        revocation=revocation,
    )


def _dss_ocsp_serials(pdf: bytes) -> set[int]:
    """Serials of the certificates the ``/DSS`` OCSP answers speak for (all "good")."""
    statuses = dss_ocsp_statuses(pdf)
    assert set(statuses.values()) == {"good"}
    return set(statuses)


def _pyhanko_validate(pdf: Path, root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [str(PYHANKO), "sign", "validate", "--trust", str(root), "--trust-replace", *extra, str(pdf)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_certificates_name_the_crl_and_the_ocsp_responder(dev_ca: DevCa) -> None:
    for p12 in (dev_ca.pki.signer_p12, dev_ca.pki.seal_p12, dev_ca.pki.tsa_p12):
        cert = _cert(p12, dev_ca.pki)
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        assert [name.value for point in points for name in point.full_name or ()] == [f"{dev_ca.url}/crl"]
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        assert [a.access_location.value for a in access] == [f"{dev_ca.url}/ocsp"]
    person = _cert(dev_ca.pki.signer_for("ai-do", "Ai Đó", "UBND"), dev_ca.pki)
    assert person.extensions.get_extension_for_class(x509.AuthorityInformationAccess)


def test_the_ca_answers_good_revoked_and_unknown_and_lists_revocations_in_its_crl(dev_ca: DevCa) -> None:
    pki = dev_ca.pki
    cert = _cert(pki.signer_for("to-be-revoked", "Người Thu Hồi", "UBND"), pki)
    root = x509.load_pem_x509_certificate(pki.root_cert_pem.read_bytes())
    assert _ocsp_status(dev_ca, cert).certificate_status == ocsp.OCSPCertStatus.GOOD

    pki.revoke(cert.serial_number, reason=x509.ReasonFlags.key_compromise)
    answer = _ocsp_status(dev_ca, cert)
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.key_compromise

    crl = x509.load_der_x509_crl(httpx.get(f"{dev_ca.url}/crl", timeout=10).content)
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(_cert(pki.seal_p12, pki).serial_number) is None

    # A certificate this CA never issued (same issuer name, other serial) is "unknown".
    stranger = pki.certificate_for_key(
        x509.load_pem_x509_certificate(pki.root_cert_pem.read_bytes()).public_key(),  # type: ignore[arg-type]
        "Không Ai",
        "UBND",
    )
    unknown = x509.load_pem_x509_certificate(stranger)
    (pki.directory / "issued" / f"{unknown.serial_number:x}.pem").unlink()
    assert _ocsp_status(dev_ca, unknown).certificate_status == ocsp.OCSPCertStatus.UNKNOWN

    with pytest.raises(KeyError):
        pki.revoke(unknown.serial_number)


def test_the_issued_letter_carries_ocsp_answers_for_signer_seal_and_tsa_and_validates_offline(
    tmp_path: Path, seed_view: Callable[..., DocumentView]
) -> None:
    folder = tmp_path / "pki"
    ensure_dev_pki(folder)
    with running_ca(folder) as ca:
        pki = ca.pki
        issued = _issue(ca, seed_view(), pki.signer_p12, pki.seal_p12, revocation=ca.spec)
        after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
        online = tmp_path / "online.pdf"
        online.write_bytes(issued)
        checked_online = _pyhanko_validate(online, pki.root_cert_pem, "--executive-summary")
        # poppler's pdfsig (NSS) asks the CA's OCSP responder itself; it does not read the /DSS.
        pdfsig = subprocess.run(
            ["pdfsig", "-nssdir", nss_trust_db(pki.root_cert_pem, tmp_path / "nss"), str(online)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    # The CA process is gone: from here on only what the file carries counts.
    ocsps, _crls = dss_counts(issued)
    assert ocsps >= 3
    wanted = {_cert(p12, pki).serial_number for p12 in (pki.signer_p12, pki.seal_p12, pki.tsa_p12)}
    assert wanted <= _dss_ocsp_serials(issued)

    report = verify_pdf(issued, [pki.root_cert_pem.read_bytes()])
    assert not report.altered and all(s.trusted and s.timestamp_present for s in report.signatures)
    signer, seal = report.signatures
    assert signer.modification == "form_filling" and seal.covers_entire_file  # the /DSS is in each revision

    assert checked_online.returncode == 0, checked_online.stdout + checked_online.stderr
    assert checked_online.stdout.count(":VALID") == 2

    path = tmp_path / "issued.pdf"
    path.write_bytes(issued)
    # Revocation checked with the embedded data only, at a time after both signatures.
    offline = subprocess.run(
        [
            *(str(PYHANKO), "sign", "adesverify", "--executive-summary", "--validation-time", after.isoformat()),
            *("--trust", str(pki.root_cert_pem), "--trust-replace", str(path)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert offline.stdout.count(":VALID") == 2
    unchecked = _pyhanko_validate(path, pki.root_cert_pem, "--no-revocation-check", "--executive-summary")
    assert unchecked.returncode == 0 and unchecked.stdout.count(":VALID") == 2

    assert pdfsig.count("Signature Validation: Signature is Valid.") == 2
    assert pdfsig.count("Certificate Validation: Certificate is Trusted.") == 2


def test_a_certificate_revoked_after_signing_fails_validation_with_revocation_checked(
    dev_ca: DevCa, tmp_path: Path, seed_view: Callable[..., DocumentView]
) -> None:
    pki = dev_ca.pki
    signer_p12 = pki.signer_for("thu-hoi-sau", "Người Bị Thu Hồi", "UBND")
    seal_p12, _ = pki.seal_for("UBND-THU-HOI", "Ủy ban nhân dân thử")
    path = tmp_path / "issued.pdf"
    path.write_bytes(_issue(dev_ca, seed_view(), signer_p12, seal_p12, revocation=dev_ca.spec))
    before = _pyhanko_validate(path, pki.root_cert_pem, "--executive-summary")
    assert before.returncode == 0 and before.stdout.count(":VALID") == 2

    pki.revoke(_cert(signer_p12, pki).serial_number)
    after = _pyhanko_validate(path, pki.root_cert_pem, "--pretty-print")
    assert after.returncode != 0
    assert "revoked" in (after.stdout + after.stderr).lower()
    pdfsig = subprocess.run(
        ["pdfsig", "-nssdir", nss_trust_db(pki.root_cert_pem, tmp_path / "nss"), str(path)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    first, second = pdfsig.split("Signature #2")
    assert "Certificate has been Revoked." in first
    assert "Certificate is Trusted." in second


def test_a_revoked_certificate_signs_nothing(dev_ca: DevCa, seed_view: Callable[..., DocumentView]) -> None:
    pki = dev_ca.pki
    signer_p12 = pki.signer_for("da-thu-hoi", "Người Đã Bị Thu Hồi", "UBND")
    pki.revoke(_cert(signer_p12, pki).serial_number)
    rendered = render_pdf(seed_view(), for_signing=True)
    with pytest.raises(RevocationError, match="revoked"):
        sign_as_signer(
            rendered,
            load_pkcs12_signer(signer_p12, pki.passphrase),
            signature_image=pki.signature_png,
            timestamper=dev_ca.timestamper,
            revocation=dev_ca.spec,
        )
    # A token's certificate (client and remote modes) is checked when the request is prepared.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token_cert = load_certificate(pki.certificate_for_key(key.public_key(), "Chủ Token", "UBND"))
    pki.revoke(token_cert.serial_number)
    with pytest.raises(RevocationError, match="revoked"):
        prepare_deferred(
            rendered,
            token_cert,
            signature_image=pki.signature_png,
            timestamped=True,
            revocation=dev_ca.spec,
            timestamper=dev_ca.timestamper,
        )


def test_a_token_signature_is_b_lt_too(dev_ca: DevCa, seed_view: Callable[..., DocumentView]) -> None:
    pki = dev_ca.pki
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = load_certificate(pki.certificate_for_key(key.public_key(), "Chủ Token Tốt", "UBND"))
    prepared = prepare_deferred(
        render_pdf(seed_view(), for_signing=True),
        certificate,
        signature_image=pki.signature_png,
        timestamped=True,
        revocation=dev_ca.spec,
        timestamper=dev_ca.timestamper,
    )
    signature = key.sign(prepared.signed_attributes, padding.PKCS1v15(), hashes.SHA256())
    signed = finish_deferred(prepared, certificate, [], signature, timestamper=dev_ca.timestamper)
    assert certificate.serial_number in _dss_ocsp_serials(signed)
    assert _cert(pki.tsa_p12, pki).serial_number in _dss_ocsp_serials(signed)
    report = verify_pdf(signed, [pki.root_cert_pem.read_bytes()])
    assert not report.altered and report.signatures[0].trusted and report.signatures[0].timestamp_present


def test_without_a_revocation_service_signatures_stay_b_t_and_say_so(
    dev_pki: DevPki, timestamper: TimeStamper, seed_view: Callable[..., DocumentView], caplog: pytest.LogCaptureFixture
) -> None:
    assert dev_pki.revocation_url is None
    spec = RevocationSpec((dev_pki.root_cert_pem.read_bytes(),))
    with caplog.at_level(logging.INFO, logger="common.pdf.ltv"):
        signed = sign_as_signer(
            render_pdf(seed_view(), for_signing=True),
            dev_pki.load_signer(),
            signature_image=dev_pki.signature_png,
            timestamper=timestamper,
            revocation=spec,
        )
    assert dss_counts(signed) == (0, 0)
    assert "/DSS" not in PdfFileReader(io.BytesIO(signed)).root
    assert "no OCSP or CRL for" in caplog.text and "PAdES B-T" in caplog.text
    report = verify_pdf(signed, [dev_pki.root_cert_pem.read_bytes()])
    assert report.signatures[0].trusted and report.signatures[0].timestamp_present


def test_the_cli_revokes_by_certificate_file_or_serial_once(dev_ca: DevCa, tmp_path: Path) -> None:
    pki = dev_ca.pki
    cert = _cert(pki.signer_for("cli-revoke", "Người Thu Hồi Bằng Lệnh", "UBND"), pki)
    pem = tmp_path / "cert.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    script = [sys.executable, str(ROOT / "scripts" / "dev_ca.py"), "--pki", str(pki.directory), "--revoke"]

    done = subprocess.run([*script, str(pem), "--reason", "superseded"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == f"revoked {cert.serial_number:x}"
    answer = _ocsp_status(dev_ca, cert)
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.superseded
    first = pki.revoked()[cert.serial_number]

    again = subprocess.run([*script, f"{cert.serial_number:x}"], capture_output=True, text=True, check=False)
    assert again.returncode == 0 and pki.revoked()[cert.serial_number] == first  # the first revocation stands

    unknown = subprocess.run([*script, "abc"], capture_output=True, text=True, check=False)
    assert unknown.returncode == 2 and "issued no certificate with serial abc" in unknown.stderr


def _stranger(pki: DevPki, key: rsa.RSAPrivateKey, name: str) -> x509.Certificate:
    """A certificate with the CA's name and URLs but outside its records: its OCSP answers "unknown"
    (and its CRL, listing only revocations, does not list it)."""
    stranger = x509.load_pem_x509_certificate(pki.certificate_for_key(key.public_key(), name, "UBND"))
    (pki.directory / "issued" / f"{stranger.serial_number:x}.pem").unlink()
    return stranger


def test_a_certificate_the_ca_answers_unknown_for_signs_nothing(
    dev_ca: DevCa, seed_view: Callable[..., DocumentView]
) -> None:
    pki = dev_ca.pki
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger = _stranger(pki, key, "Người Lạ")
    assert _ocsp_status(dev_ca, stranger).certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    with pytest.raises(RevocationError, match="unknown"):
        prepare_deferred(
            render_pdf(seed_view(), for_signing=True),
            load_certificate(stranger.public_bytes(serialization.Encoding.PEM)),
            signature_image=pki.signature_png,
            timestamped=True,
            revocation=dev_ca.spec,
            timestamper=dev_ca.timestamper,
        )
    # The same for a key the service holds (a signer's PKCS#12 whose record the CA lost).
    signer_p12 = pki.signer_for("nguoi-la-p12", "Người Lạ Có Khóa", "UBND")
    (pki.directory / "issued" / f"{_cert(signer_p12, pki).serial_number:x}.pem").unlink()
    with pytest.raises(RevocationError, match="unknown"):
        sign_as_signer(
            render_pdf(seed_view(), for_signing=True),
            load_pkcs12_signer(signer_p12, pki.passphrase),
            signature_image=pki.signature_png,
            timestamper=dev_ca.timestamper,
            revocation=dev_ca.spec,
        )
