"""The development PKI: created once, reused after, with the expected certificates and images."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image

from common.pdf.dev_pki import DevPki, ensure_dev_pki, ensure_dev_pki_in_child
from common.pdf.signing import SigningError, load_pkcs12_signer


def _common_name(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_certificates_chain_to_the_root(dev_pki: DevPki) -> None:
    root = x509.load_pem_x509_certificate(dev_pki.root_cert_pem.read_bytes())
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    expected = {
        dev_pki.signer_p12: ("Nguyễn Văn A", ec.EllipticCurvePrivateKey),
        dev_pki.seal_p12: ("Cơ quan thử nghiệm", ec.EllipticCurvePrivateKey),
        dev_pki.tsa_p12: ("Development Time Stamping Authority", rsa.RSAPrivateKey),
    }
    for path, (name, key_type) in expected.items():
        key, cert, chain = pkcs12.load_key_and_certificates(path.read_bytes(), dev_pki.passphrase)
        assert cert is not None and isinstance(key, key_type)
        assert _common_name(cert) == name
        assert cert.issuer == root.subject and [c.subject for c in chain] == [root.subject]
        cert.verify_directly_issued_by(root)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            assert key.curve.name == "secp256r1"
            assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment
    tsa = pkcs12.load_key_and_certificates(dev_pki.tsa_p12.read_bytes(), dev_pki.passphrase)[1]
    assert tsa is not None
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_pkcs12_files_need_the_passphrase(dev_pki: DevPki) -> None:
    assert len(dev_pki.passphrase) >= 24
    with pytest.raises(ValueError, match=r"(?i)invalid password|mac|decrypt|could not"):
        pkcs12.load_key_and_certificates(dev_pki.signer_p12.read_bytes(), b"wrong")
    with pytest.raises(SigningError):
        load_pkcs12_signer(dev_pki.signer_p12, b"wrong")
    assert dev_pki.signer_p12.stat().st_mode & 0o077 == 0  # private files are not world-readable


def test_second_call_reuses_the_files(tmp_path: Path) -> None:
    first = ensure_dev_pki(tmp_path / "pki")
    contents = {p: p.read_bytes() for p in first.directory.iterdir() if p.is_file()}
    second = ensure_dev_pki(tmp_path / "pki")
    assert second == first
    assert {p: p.read_bytes() for p in second.directory.iterdir() if p.is_file()} == contents
    first.seal_png.unlink()  # an incomplete directory is created anew
    third = ensure_dev_pki(tmp_path / "pki")
    assert third.seal_png.exists() and third.passphrase != first.passphrase


def test_signers_are_cached(dev_pki: DevPki) -> None:
    assert dev_pki.load_signer() is dev_pki.load_signer()
    assert dev_pki.load_signer() is not dev_pki.load_seal()


def _share(image: Image.Image, predicate: object) -> tuple[float, float]:
    pixels = list(image.convert("RGBA").get_flattened_data())
    opaque = [p for p in pixels if p[3] > 128]
    matching = [p for p in opaque if predicate(p)]  # type: ignore[operator]
    return len(opaque) / len(pixels), len(matching) / max(len(opaque), 1)


def test_images_are_blue_and_red_on_transparent_backgrounds(dev_pki: DevPki) -> None:
    with Image.open(dev_pki.signature_png) as signature:
        assert signature.mode == "RGBA" and signature.getpixel((0, 0))[3] == 0
        ink, blue = _share(signature, lambda p: p[2] > 150 and p[2] - p[0] > 80)
        assert 0.02 < ink < 0.4 and blue > 0.95
    with Image.open(dev_pki.seal_png) as seal:
        assert seal.mode == "RGBA" and seal.width == seal.height
        assert seal.getpixel((0, 0))[3] == 0 and seal.getpixel((seal.width // 2, seal.height // 2))[3] > 200
        ink, red = _share(seal, lambda p: p[0] > 180 and p[0] - p[1] > 100)
        assert 0.05 < ink < 0.5 and red > 0.95


def test_any_signer_and_any_seal_get_a_certificate_on_first_use(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path / "pki")
    root = x509.load_pem_x509_certificate(pki.root_cert_pem.read_bytes())
    chair = pki.signer_for("pham-van-hieu", "Phạm Văn Hiếu", "Ủy ban nhân dân thành phố Cần Thơ")
    assert pki.signer_for("pham-van-hieu", "Phạm Văn Hiếu", "Ủy ban nhân dân thành phố Cần Thơ") == chair
    key, cert, chain = pkcs12.load_key_and_certificates(chair.read_bytes(), pki.passphrase)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and cert is not None
    assert _common_name(cert) == "Phạm Văn Hiếu"
    assert (
        cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Ủy ban nhân dân thành phố Cần Thơ"
    )
    cert.verify_directly_issued_by(root)
    assert [c.subject for c in chain] == [root.subject]
    assert chair.stat().st_mode & 0o077 == 0
    # A renamed person gets a certificate naming the new name; the old one stays as it was.
    renamed = pki.signer_for("pham-van-hieu", "Phạm Văn Hiếu Hai", "Ủy ban nhân dân thành phố Cần Thơ")
    assert renamed != chair and chair.exists()
    seal, image = pki.seal_for("UBND-TP", "Ủy ban nhân dân thành phố Cần Thơ")
    seal_cert = pkcs12.load_key_and_certificates(seal.read_bytes(), pki.passphrase)[1]
    assert seal_cert is not None and _common_name(seal_cert) == "Ủy ban nhân dân thành phố Cần Thơ"
    seal_cert.verify_directly_issued_by(root)
    with Image.open(image) as picture:
        assert picture.mode == "RGBA" and picture.getpixel((0, 0))[3] == 0
    # Another process (a fresh DevPki over the same folder) finds the same files.
    again = ensure_dev_pki(tmp_path / "pki")
    assert again.seal_for("UBND-TP", "Ủy ban nhân dân thành phố Cần Thơ") == (seal, image)
    # A PKI made anew (its root replaced) forgets what the old root issued.
    pki.root_key_pem.unlink()
    fresh = ensure_dev_pki(tmp_path / "pki")
    assert not chair.exists()
    newer = fresh.signer_for("pham-van-hieu", "Phạm Văn Hiếu", "Ủy ban nhân dân thành phố Cần Thơ")
    newer_cert = pkcs12.load_key_and_certificates(newer.read_bytes(), fresh.passphrase)[1]
    assert newer_cert is not None
    newer_cert.verify_directly_issued_by(x509.load_pem_x509_certificate(fresh.root_cert_pem.read_bytes()))


def test_a_web_process_has_a_child_create_the_pki_and_reads_it_itself(tmp_path: Path) -> None:
    created = ensure_dev_pki_in_child(tmp_path / "pki", revocation_url="http://127.0.0.1:8020")
    assert created.revocation_url == "http://127.0.0.1:8020"
    root = x509.load_pem_x509_certificate(created.root_cert_pem.read_bytes())
    again = ensure_dev_pki(tmp_path / "pki", revocation_url="http://127.0.0.1:8020")
    assert again.passphrase == created.passphrase  # the child's files, reused as they are
    assert x509.load_pem_x509_certificate(again.root_cert_pem.read_bytes()) == root
    # A changed CA URL re-issues the default certificates (in a child again), under the same root.
    before = created.signer_p12.read_bytes()
    moved = ensure_dev_pki_in_child(tmp_path / "pki", revocation_url="http://127.0.0.1:8021")
    assert moved.revocation_url == "http://127.0.0.1:8021" and moved.signer_p12.read_bytes() != before
    assert x509.load_pem_x509_certificate(moved.root_cert_pem.read_bytes()) == root
