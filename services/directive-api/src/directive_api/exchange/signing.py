"""Our packages leave signed with the issuing unit's seal key; a partner that signs is checked."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from common.edxml.signature import EdxmlSignatureError, SigningKey, sign_package, verify_package
from directive_api.exchange.errors import InvalidSignatureError, SealNotUsableError
from directive_api.orgs.models import Unit
from directive_api.pdfs.service import Keys
from directive_api.settings import Settings


@functools.lru_cache(maxsize=16)
def _pkcs12(
    path: str,
    mtime_ns: int,  # noqa: ARG001 - part of the cache key: a replaced file is read again
    passphrase: bytes | None,
) -> tuple[SigningKey, tuple[x509.Certificate, ...]]:
    key, certificate, chain = pkcs12.load_key_and_certificates(Path(path).read_bytes(), passphrase)
    if certificate is None or not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SealNotUsableError("the seal's PKCS#12 file holds no RSA or EC key with its certificate")
    return key, (certificate, *chain)


async def seal(keys: Keys, unit: Unit) -> tuple[SigningKey, tuple[x509.Certificate, ...]]:
    """The unit's seal key and certificate chain, as the PDF seal uses (settings ``SIGNING__SEALS``)."""
    spec, _image = await keys.seal(unit)
    if spec.pkcs12 is None:
        raise SealNotUsableError(
            "edXML packages are signed with a PKCS#12 seal only: the configured seal is on a PKCS#11 token"
        )
    path = Path(spec.pkcs12)
    mtime_ns = (await asyncio.to_thread(path.stat)).st_mtime_ns
    return _pkcs12(str(path), mtime_ns, spec.passphrase)


async def sign(data: bytes, keys: Keys, unit: Unit, settings: Settings) -> bytes:
    """``data`` signed with the unit's seal (XML-DSig, enveloped), unless signing is switched off."""
    if not settings.exchange.sign_packages:
        return data
    key, certificates = await seal(keys, unit)
    return sign_package(data, key, certificates)


@functools.lru_cache(maxsize=64)
def _certificate(path: str, mtime_ns: int) -> x509.Certificate:  # noqa: ARG001 - mtime: the cache key
    return x509.load_pem_x509_certificate(Path(path).read_bytes())


def check_partner_signature(raw: bytes, organ_id: str, settings: Settings) -> bool:
    """Verify the package's signature when the partner ``organ_id`` is configured to sign
    (``EXCHANGE__PARTNER_CERTIFICATES``); True when it was checked. A bad or missing one is refused."""
    path = settings.exchange.partner_certificates.get(organ_id)
    if path is None:
        return False
    try:
        verify_package(raw, certificate=_certificate(str(path), path.stat().st_mtime_ns))
    except EdxmlSignatureError as exc:
        raise InvalidSignatureError(f"{organ_id} signs its packages: {exc.message}", code=exc.code.value) from None
    return True
