"""A development PKI: root CA, signer, organisation seal and TSA, plus signature and seal images.

For development and tests only. Nothing here is committed: :func:`ensure_dev_pki` writes everything
under the directory it is given, on first use, and reuses the files afterwards.

With a revocation URL (``ensure_dev_pki(directory, revocation_url=...)``, recorded in the folder),
every certificate the CA issues names its CRL (``<url>/crl``) and OCSP responder (``<url>/ocsp``),
which the development CA process (``scripts/dev_ca.py``, :mod:`common.pdf.dev_ca`) serves: signatures
then embed that validation data (PAdES B-LT). Every issued certificate is kept in ``issued/`` (the
responder answers "unknown" for any other serial) and :meth:`DevPki.revoke` revokes one.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from common.pdf.fontfiles import font_path
from common.pdf.model import nfc
from common.storage import locked_directory

if TYPE_CHECKING:
    from asn1crypto import x509 as asn1_x509
    from PIL import Image, ImageDraw
    from pyhanko.sign.signers import Signer
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

# pyHanko, PIL and asn1crypto are imported where they are used: a web process and the CA process
# (dev_ca) read the paths and issue certificates (``cryptography``) but never load the signing stack
# (see common.pdf.pool).

__all__ = [
    "DEV_ORGANISATION",
    "DEV_SIGNER_NAME",
    "DevPki",
    "draw_seal_image",
    "draw_signature_image",
    "ensure_dev_pki",
    "ensure_dev_pki_in_child",
]

DEV_SIGNER_NAME = "Nguyễn Văn A"
"""CN of the default signer certificate (a placeholder name: the services issue one per person with
:meth:`DevPki.signer_for`)."""
DEV_ORGANISATION = "Cơ quan thử nghiệm"
"""Organisation of the default signer and seal certificates, and the name around the default seal
image (the services issue a seal per unit with :meth:`DevPki.seal_for`)."""
DEV_PKI_ORGANISATION = "Development PKI"
"""The organisation of the development CA and TSA: every certificate it makes names it (as subject or issuer)."""


_SIGNATURE_BLUE = (20, 45, 190)
_SEAL_RED = (218, 30, 40)


@dataclass(frozen=True)
class DevPki:
    """Paths of a development PKI made by :func:`ensure_dev_pki`.

    Attributes:
        directory: Where the files are.
        passphrase: Passphrase of every PKCS#12 file (random, stored in ``passphrase.txt``).
        root_cert_pem: The root CA certificate (PEM); give it as trust root to verifiers.
        signer_p12: The signer's key and certificate chain (ECDSA P-256, CN :data:`DEV_SIGNER_NAME`).
        seal_p12: The organisation's key and certificate chain (ECDSA P-256).
        tsa_p12: The time-stamping authority's key and chain (RSA-2048: pyHanko's in-process TSA
            signs with RSA only).
        signature_png: Blue handwritten-like signature, transparent background.
        seal_png: Red round seal with the organisation name around it, transparent background.
        root_key_pem: The root CA's private key (PEM, encrypted with :attr:`passphrase`).
        revocation_url: Base URL of the development CA's CRL and OCSP service named in the
            certificates it issues, or None (no revocation information: signatures stay B-T).
    """

    directory: Path
    passphrase: bytes
    root_cert_pem: Path
    signer_p12: Path
    seal_p12: Path
    tsa_p12: Path
    signature_png: Path
    seal_png: Path
    root_key_pem: Path
    revocation_url: str | None = None

    def signer_for(self, subject: str, common_name: str, organisation: str) -> Path:
        """The PKCS#12 file of any person, issued by the development CA on first use.

        ``subject`` is a stable id (the person's id). The certificate names ``common_name`` in
        ``organisation``; a person whose name or unit changes gets a new certificate, so the
        certificate in a signed PDF always names the person as the directory knew them.

        Args:
            subject: Stable id of the person.
            common_name: The person's full name (CN).
            organisation: The unit's name (O).

        Returns:
            The PKCS#12 file (passphrase: :attr:`passphrase`).
        """
        path = self._issued_path("signers", subject, common_name, organisation, ".p12")
        if not path.exists():
            with locked_directory(self.directory):
                if not path.exists():
                    self._issue(path, _name(common_name, organisation), label=subject)
        return path

    def seal_for(self, subject: str, organisation: str) -> tuple[Path, Path]:
        """The seal key (PKCS#12) and the red seal image of any issuing unit, made on first use.

        Args:
            subject: Stable id of the unit (its code).
            organisation: The unit's name, in the certificate and around the seal.

        Returns:
            The PKCS#12 file and the seal PNG.
        """
        path = self._issued_path("seals", subject, organisation, organisation, ".p12")
        image = path.with_suffix(".png")
        if not (path.exists() and image.exists()):
            with locked_directory(self.directory):
                if not image.exists():
                    tmp = image.with_suffix(".png.tmp")
                    draw_seal_image(organisation).save(tmp, format="PNG", optimize=True)
                    tmp.replace(image)
                if not path.exists():
                    self._issue(path, _name(organisation, organisation), label=subject)
        return path, image

    def certificate_for_key(
        self,
        public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
        common_name: str,
        organisation: str,
        *,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
    ) -> bytes:
        """A signing certificate (PEM) from the development CA for a key held elsewhere (a token).

        Args:
            public_key: The token's public key.
            common_name: The holder's full name (CN).
            organisation: The holder's unit (O).
            not_before: Start of validity (default: yesterday).
            not_after: End of validity (default: in 825 days).

        Returns:
            The certificate, PEM.
        """
        root_key, root_cert, _ = _load_root(self.root_key_pem, self.root_cert_pem, self.passphrase)
        cert = _certificate(
            _name(common_name, organisation),
            public_key,
            root_cert.subject,
            root_key,
            ca=False,
            key_usage=_key_usage(),
            not_before=not_before,
            not_after=not_after,
            revocation_url=self.revocation_url,
        )
        with locked_directory(self.directory):
            _record_issued(self.directory, cert)
        return cert.public_bytes(serialization.Encoding.PEM)

    def issue_signing_identity(self, out: Path, common_name: str, organisation: str) -> tuple[Path, Path]:
        """A new key (ECDSA P-256) and its certificate for a signer's own client, written to ``out``.

        For trying client-mode signing in development: the certificate chains to this CA's root,
        names its OCSP responder and CRL, and is recorded in ``issued/`` so the CA answers ``good``.
        ``out`` gets ``signing-key.pem`` (PKCS#8, unencrypted, mode 0600), ``signing-certificate.pem``
        and ``root-ca.pem`` (the trust root, for verifiers).

        Returns:
            The key file and the certificate file.
        """
        out.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = self.certificate_for_key(key.public_key(), common_name, organisation)
        key_file, cert_file = out / "signing-key.pem", out / "signing-certificate.pem"
        pkcs8 = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_private(key_file, pkcs8)
        cert_file.write_bytes(certificate)
        shutil.copyfile(self.root_cert_pem, out / "root-ca.pem")
        return key_file, cert_file

    def _issued_path(self, kind: str, subject: str, common_name: str, organisation: str, suffix: str) -> Path:
        # The file name is a digest: ids and names may hold any character, and a renamed holder
        # must not reuse a certificate naming their old name.
        # A certificate names the CA's revocation URL: another URL needs another certificate.
        parts = (subject, nfc(common_name), nfc(organisation), *((self.revocation_url,) if self.revocation_url else ()))
        digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
        folder = self.directory / kind
        folder.mkdir(exist_ok=True)
        return folder / f"{digest[:32]}{suffix}"

    def _issue(self, path: Path, subject: x509.Name, *, label: str) -> None:
        root = _load_root(self.root_key_pem, self.root_cert_pem, self.passphrase)
        key = ec.generate_private_key(ec.SECP256R1())
        _write_private(path, _issue_p12(root, self.directory, label, subject, key, revocation_url=self.revocation_url))

    def issued_certificate(self, serial: int) -> x509.Certificate | None:
        """The certificate this CA issued with ``serial``, or None."""
        path = self.directory / "issued" / f"{serial:x}.pem"
        return x509.load_pem_x509_certificate(path.read_bytes()) if path.exists() else None

    def revoke(self, serial: int, *, reason: x509.ReasonFlags | None = None, when: dt.datetime | None = None) -> None:
        """Revoke a certificate this CA issued: its CRL lists it and its OCSP responder says "revoked".

        Revoking it again changes nothing.

        Args:
            serial: The certificate's serial number.
            reason: The CRL reason (default: key compromise).
            when: Revocation time (default: now).

        Raises:
            KeyError: The CA never issued that serial.
        """
        if self.issued_certificate(serial) is None:
            raise KeyError(f"the development CA issued no certificate with serial {serial:x}")
        with locked_directory(self.directory):
            revoked = self._revoked_entries()
            if f"{serial:x}" in revoked:
                return  # revoked once, at its first time and reason
            revoked[f"{serial:x}"] = {
                "time": (when or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat(),
                "reason": (reason or x509.ReasonFlags.key_compromise).value,
            }
            path = self.directory / "revoked.json"
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(revoked, indent=1))
            tmp.replace(path)

    def revoked(self) -> dict[int, tuple[dt.datetime, x509.ReasonFlags]]:
        """Revoked serials with their revocation time and reason."""
        return {
            int(serial, 16): (dt.datetime.fromisoformat(entry["time"]), x509.ReasonFlags(entry["reason"]))
            for serial, entry in self._revoked_entries().items()
        }

    def _revoked_entries(self) -> dict[str, dict[str, str]]:
        path = self.directory / "revoked.json"
        entries: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
        return entries

    def root_certificate(self) -> asn1_x509.Certificate:
        """Return the root CA certificate (asn1crypto form, as pyHanko's validators take it)."""
        from asn1crypto import x509 as asn1_x509

        der = x509.load_pem_x509_certificate(self.root_cert_pem.read_bytes()).public_bytes(serialization.Encoding.DER)
        return asn1_x509.Certificate.load(der)

    def load_signer(self) -> Signer:
        """Return the signer's pyHanko signer (cached per process)."""
        from common.pdf.signing import load_pkcs12_signer

        return load_pkcs12_signer(self.signer_p12, self.passphrase)

    def load_seal(self) -> Signer:
        """Return the organisation seal's pyHanko signer (cached per process)."""
        from common.pdf.signing import load_pkcs12_signer

        return load_pkcs12_signer(self.seal_p12, self.passphrase)

    def timestamper(self) -> DummyTimeStamper:
        """Return an in-process RFC 3161 time-stamping authority backed by the TSA certificate."""
        from asn1crypto import keys as asn1_keys
        from asn1crypto import x509 as asn1_x509
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        key, cert, extra = pkcs12.load_key_and_certificates(self.tsa_p12.read_bytes(), self.passphrase)
        assert key is not None and cert is not None
        key_der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        store: Any = SimpleCertificateStore  # its constructor is untyped
        chain: Any = store()
        chain.register_multiple([asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in extra])
        return DummyTimeStamper(
            tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
            tsa_key=asn1_keys.PrivateKeyInfo.load(key_der),
            certs_to_embed=chain,
        )


def _paths(directory: Path) -> dict[str, Path]:
    return {
        "root_cert_pem": directory / "root-ca.pem",
        "signer_p12": directory / "signer.p12",
        "seal_p12": directory / "seal.p12",
        "tsa_p12": directory / "tsa.p12",
        "signature_png": directory / "signature.png",
        "seal_png": directory / "seal.png",
        "root_key_pem": directory / "root-ca-key.pem",
    }


def ensure_dev_pki(directory: Path | str, *, revocation_url: str | None = None) -> DevPki:
    """Create the development PKI and images under ``directory``, or reuse the ones already there.

    The first call creates a root CA (its key kept, encrypted, to issue more certificates: see
    :meth:`DevPki.signer_for` and :meth:`DevPki.seal_for`), a signer certificate (CN
    :data:`DEV_SIGNER_NAME`), an organisation seal certificate (CN :data:`DEV_ORGANISATION`) and a
    TSA certificate, each as a PKCS#12 file protected by a random passphrase, plus a blue signature
    PNG and a red seal PNG. Later calls reuse the files. Safe to call from several processes at once (file lock).

    Args:
        directory: Directory to hold the files (created if missing).
        revocation_url: Base URL of the development CA process (``http://127.0.0.1:8020``). When
            given, it is recorded in the folder and the certificates issued from then on name its CRL
            and OCSP responder; the default signer, seal and TSA certificates are re-issued (same root)
            when it changes. When None, the recorded URL (if any) is kept.

    Returns:
        The paths and the passphrase.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = _paths(directory)
    passphrase_file = directory / "passphrase.txt"
    url_file = directory / "revocation-url.txt"
    with locked_directory(directory):
        recorded = url_file.read_text().strip() or None if url_file.exists() else None
        url = (revocation_url.rstrip("/") or None) if revocation_url is not None else recorded
        complete = passphrase_file.exists() and all(path.exists() for path in paths.values())
        if not complete:
            _create(paths, passphrase_file, url)
        elif url != recorded:
            _issue_defaults(paths, passphrase_file.read_bytes().strip(), url)
        if url != recorded or not complete:
            url_file.write_text(url or "")
        passphrase = passphrase_file.read_bytes().strip()
    return DevPki(directory=directory, passphrase=passphrase, revocation_url=url, **paths)


def _up_to_date(directory: Path, revocation_url: str | None) -> bool:
    """Whether :func:`ensure_dev_pki` would only read ``directory`` (every file there, same URL)."""
    paths = _paths(directory)
    if not (directory / "passphrase.txt").exists() or not all(path.exists() for path in paths.values()):
        return False
    if revocation_url is None:
        return True
    url_file = directory / "revocation-url.txt"
    recorded = url_file.read_text().strip() or None if url_file.exists() else None
    return (revocation_url.rstrip("/") or None) == recorded


def ensure_dev_pki_in_child(directory: Path | str, *, revocation_url: str | None = None) -> DevPki:
    """:func:`ensure_dev_pki` for a web process: what has to be created (keys, certificates, the
    images drawn with Pillow) is created by a short-lived child process, so that the web process does
    not keep the ~25 MB that creating them leaves resident; reading the folder is done here.

    Args:
        directory: As for :func:`ensure_dev_pki`.
        revocation_url: As for :func:`ensure_dev_pki`.

    Returns:
        As :func:`ensure_dev_pki`.
    """
    directory = Path(directory)
    if not _up_to_date(directory, revocation_url):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
            child.submit(ensure_dev_pki, directory, revocation_url=revocation_url).result()
    return ensure_dev_pki(directory, revocation_url=revocation_url)


def _name(common_name: str, organisation: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if organisation:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, nfc(organisation)))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, nfc(common_name)))
    return x509.Name(attributes)


def _certificate(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    key_usage: x509.KeyUsage,
    extended_key_usage: list[x509.ObjectIdentifier] | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    revocation_url: str | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(days=1))
        .not_valid_after(not_after or now + dt.timedelta(days=3650 if ca else 825))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if extended_key_usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended_key_usage), critical=True)
    if revocation_url and not ca:
        crl = x509.UniformResourceIdentifier(f"{revocation_url}/crl")
        ocsp = x509.UniformResourceIdentifier(f"{revocation_url}/ocsp")
        builder = builder.add_extension(
            x509.CRLDistributionPoints([x509.DistributionPoint([crl], None, None, None)]), critical=False
        ).add_extension(
            x509.AuthorityInformationAccess([x509.AccessDescription(AuthorityInformationAccessOID.OCSP, ocsp)]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


_Root = tuple[ec.EllipticCurvePrivateKey, x509.Certificate, bytes]
"""The CA's key, its certificate and the passphrase of the files it issues."""


def _load_root(key_pem: Path, cert_pem: Path, passphrase: bytes) -> _Root:
    root_key = serialization.load_pem_private_key(key_pem.read_bytes(), passphrase)
    assert isinstance(root_key, ec.EllipticCurvePrivateKey)
    return root_key, x509.load_pem_x509_certificate(cert_pem.read_bytes()), passphrase


def _issue_p12(
    root: _Root,
    directory: Path,
    label: str,
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    *,
    revocation_url: str | None,
    extended_key_usage: list[x509.ObjectIdentifier] | None = None,
    non_repudiation: bool = True,
) -> bytes:
    """A certificate for ``key`` from the root, recorded in ``issued/``, with the key as PKCS#12."""
    root_key, root_cert, passphrase = root
    cert = _certificate(
        subject,
        key.public_key(),
        root_cert.subject,
        root_key,
        ca=False,
        key_usage=_key_usage(non_repudiation=non_repudiation),
        extended_key_usage=extended_key_usage,
        revocation_url=revocation_url,
    )
    _record_issued(directory, cert)
    encryption = serialization.BestAvailableEncryption(passphrase)
    return pkcs12.serialize_key_and_certificates(label.encode(), key, cert, [root_cert], encryption)


def _record_issued(directory: Path, cert: x509.Certificate) -> None:
    """Keep every issued certificate, by serial: the OCSP responder answers only for these."""
    folder = directory / "issued"
    folder.mkdir(exist_ok=True)
    (folder / f"{cert.serial_number:x}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _key_usage(*, ca: bool = False, non_repudiation: bool = True) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=non_repudiation and not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def _create(paths: dict[str, Path], passphrase_file: Path, revocation_url: str | None) -> None:
    # Certificates issued by an earlier root would no longer chain: start them afresh too.
    directory = paths["root_cert_pem"].parent
    for kind in ("signers", "seals", "issued"):
        shutil.rmtree(directory / kind, ignore_errors=True)
    (directory / "revoked.json").unlink(missing_ok=True)
    passphrase = secrets.token_urlsafe(24).encode()
    encryption = serialization.BestAvailableEncryption(passphrase)

    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Development Root CA - NOT FOR PRODUCTION", DEV_PKI_ORGANISATION)
    root_cert = _certificate(
        root_name, root_key.public_key(), root_name, root_key, ca=True, key_usage=_key_usage(ca=True)
    )
    paths["root_cert_pem"].write_bytes(root_cert.public_bytes(serialization.Encoding.PEM))
    # Kept (encrypted) so that certificates for any signer and seal can be issued later on.
    _write_private(
        paths["root_key_pem"],
        root_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption),
    )
    _issue_defaults(paths, passphrase, revocation_url)
    draw_signature_image().save(paths["signature_png"], format="PNG", optimize=True)
    draw_seal_image(DEV_ORGANISATION).save(paths["seal_png"], format="PNG", optimize=True)
    _write_private(passphrase_file, passphrase + b"\n")


def _issue_defaults(paths: dict[str, Path], passphrase: bytes, revocation_url: str | None) -> None:
    """(Re-)issue the default signer, seal and TSA certificates from the root."""
    directory = paths["root_cert_pem"].parent
    root = _load_root(paths["root_key_pem"], paths["root_cert_pem"], passphrase)
    issue = functools.partial(_issue_p12, root, directory, revocation_url=revocation_url)
    signer_p12 = issue("signer", _name(DEV_SIGNER_NAME, DEV_ORGANISATION), ec.generate_private_key(ec.SECP256R1()))
    seal_p12 = issue("seal", _name(DEV_ORGANISATION, DEV_ORGANISATION), ec.generate_private_key(ec.SECP256R1()))
    tsa_p12 = issue(
        "tsa",
        _name("Development Time Stamping Authority", DEV_PKI_ORGANISATION),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        extended_key_usage=[ExtendedKeyUsageOID.TIME_STAMPING],
        non_repudiation=False,
    )
    _write_private(paths["signer_p12"], signer_p12)
    _write_private(paths["seal_p12"], seal_p12)
    _write_private(paths["tsa_p12"], tsa_p12)


def _supersampled(size: tuple[int, int], scale: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (size[0] * scale, size[1] * scale), (0, 0, 0, 0))
    return image, ImageDraw.Draw(image)


def _catmull_rom(points: list[tuple[float, float]], steps: int = 120) -> list[tuple[float, float]]:
    """Sample a smooth curve through ``points`` (uniform Catmull-Rom spline)."""
    padded = [points[0], *points, points[-1]]
    curve: list[tuple[float, float]] = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        for k in range(steps):
            t = k / steps
            t2, t3 = t * t, t * t * t
            curve.append(
                tuple(  # type: ignore[arg-type]
                    0.5
                    * (
                        2 * p1[d]
                        + (-p0[d] + p2[d]) * t
                        + (2 * p0[d] - 5 * p1[d] + 4 * p2[d] - p3[d]) * t2
                        + (-p0[d] + 3 * p1[d] - 3 * p2[d] + p3[d]) * t3
                    )
                    for d in (0, 1)
                )
            )
    curve.append(points[-1])
    return curve


# Control points of the signature strokes, in fractions of the image width and height.
_SIGNATURE_STROKES: tuple[tuple[tuple[float, float], ...], ...] = (
    # A tall looped capital.
    (
        (0.08, 0.62),
        (0.13, 0.32),
        (0.19, 0.10),
        (0.26, 0.09),
        (0.24, 0.30),
        (0.15, 0.74),
        (0.12, 0.80),
        (0.17, 0.72),
        (0.26, 0.56),
    ),
    # Running small letters with loops.
    (
        (0.26, 0.56),
        (0.31, 0.40),
        (0.33, 0.58),
        (0.37, 0.38),
        (0.40, 0.58),
        (0.45, 0.42),
        (0.49, 0.36),
        (0.47, 0.56),
        (0.53, 0.50),
        (0.58, 0.36),
        (0.56, 0.56),
        (0.62, 0.52),
        (0.67, 0.30),
        (0.70, 0.50),
        (0.74, 0.42),
    ),
    # Underline flourish.
    ((0.05, 0.86), (0.30, 0.80), (0.60, 0.70), (0.86, 0.56), (0.95, 0.46)),
)


def draw_signature_image(width: int = 640, height: int = 320) -> Image.Image:
    """Draw a blue, handwritten-looking signature on a transparent background.

    Args:
        width: Width in pixels.
        height: Height in pixels.

    Returns:
        An RGBA image.
    """
    from PIL import Image

    scale = 3
    image, draw = _supersampled((width, height), scale)
    w, h = width * scale, height * scale
    colour = (*_SIGNATURE_BLUE, 255)
    for stroke in _SIGNATURE_STROKES:
        curve = _catmull_rom([(x * w, y * h) for x, y in stroke])
        count = len(curve)
        for index, (x, y) in enumerate(curve):
            # Pen pressure: thin at both ends, heavier in the middle of the stroke.
            pressure = math.sin(math.pi * (index + 0.5) / count) ** 0.5
            radius = h * (0.006 + 0.010 * pressure)
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    return image.resize((width, height), Image.Resampling.LANCZOS)


def _star(centre: tuple[float, float], outer: float, inner: float) -> list[tuple[float, float]]:
    points = []
    for k in range(10):
        radius = outer if k % 2 == 0 else inner
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((centre[0] + radius * math.cos(angle), centre[1] + radius * math.sin(angle)))
    return points


def draw_seal_image(organisation: str, size: int = 400) -> Image.Image:
    """Draw a red round seal with the organisation name around the rim, on a transparent background.

    Args:
        organisation: Name printed around the seal (upper-cased).
        size: Width and height in pixels.

    Returns:
        An RGBA image.
    """
    from PIL import Image, ImageDraw, ImageFont

    scale = 3
    image, draw = _supersampled((size, size), scale)
    s = size * scale
    c = s / 2
    colour = (*_SEAL_RED, 235)
    outer = s * 0.485
    draw.ellipse((c - outer, c - outer, c + outer, c + outer), outline=colour, width=round(s * 0.018))
    ring_inner = s * 0.335
    draw.ellipse(
        (c - ring_inner, c - ring_inner, c + ring_inner, c + ring_inner),
        outline=colour,
        width=round(s * 0.008),
    )
    draw.polygon(_star((c, c), s * 0.16, s * 0.065), fill=colour)

    text = nfc(organisation).upper()

    font = ImageFont.truetype(str(font_path("Bold")), round(s * 0.060))
    text_radius = s * 0.385
    advances = [font.getlength(ch) for ch in text]
    tracking = s * 0.006
    total = sum(advances) + tracking * (len(text) - 1)
    span = min(total / text_radius, math.radians(300))
    factor = span / (total / text_radius)
    angle = -math.pi / 2 - span / 2  # start left of the top, run clockwise
    glyph_box = round(s * 0.12)
    for ch, advance in zip(text, advances, strict=True):
        step = (advance + tracking) / text_radius * factor
        mid = angle + (advance / text_radius * factor) / 2
        if not ch.isspace():
            glyph = Image.new("RGBA", (glyph_box, glyph_box), (0, 0, 0, 0))
            ImageDraw.Draw(glyph).text((glyph_box / 2, glyph_box * 0.62), ch, font=font, fill=colour, anchor="ms")
            rotated = glyph.rotate(-math.degrees(mid + math.pi / 2), resample=Image.Resampling.BICUBIC)
            x = c + text_radius * math.cos(mid) - glyph_box / 2
            y = c + text_radius * math.sin(mid) - glyph_box / 2
            image.alpha_composite(rotated, (round(x), round(y)))
        angle += step
    # Two small stars close the ring at the bottom.
    for side in (-1, 1):
        a = math.pi / 2 + side * ((2 * math.pi - span) / 4)
        point = (c + text_radius * math.cos(a), c + text_radius * math.sin(a))
        draw.polygon(_star(point, s * 0.022, s * 0.009), fill=colour)
    return image.resize((size, size), Image.Resampling.LANCZOS)
