"""The development CA's revocation services: a CRL and an OCSP responder (RFC 5280, RFC 6960).

For development and tests only, like :mod:`common.pdf.dev_pki`. :func:`create_app` serves, for the
development PKI in a folder,

- ``GET /crl``: the CA's CRL (DER, ``application/pkix-crl``), signed by the root, fresh on each
  request (valid 7 days);
- ``POST /ocsp`` (and ``GET /ocsp/<base64 request>``): OCSP answers signed by the root itself, so
  no responder certificate is needed: "good", "revoked" (with time and reason) or "unknown" for a
  serial the CA never issued; the request's nonce is echoed.

``scripts/dev_ca.py`` runs it as its own process (``make run`` starts it); the certificates the
development PKI issues name these URLs when a revocation URL is recorded (see
:func:`common.pdf.dev_pki.ensure_dev_pki`). The responses are built with ``cryptography``'s CRL and
OCSP builders.
"""

from __future__ import annotations

import base64
import datetime as dt
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from fastapi import FastAPI, Request, Response

from common.pdf.dev_pki import DevPki

__all__ = ["CRL_MEDIA_TYPE", "OCSP_MEDIA_TYPE", "DevCa", "create_app"]

CRL_MEDIA_TYPE = "application/pkix-crl"
OCSP_MEDIA_TYPE = "application/ocsp-response"
_VALIDITY = dt.timedelta(days=7)
_REQUEST_HASHES = (hashes.SHA1, hashes.SHA256, hashes.SHA384, hashes.SHA512)


class DevCa:
    """Builds the CRL and OCSP responses of a development PKI (its root key loaded once)."""

    def __init__(self, pki: DevPki) -> None:
        self.pki = pki
        key = serialization.load_pem_private_key(pki.root_key_pem.read_bytes(), pki.passphrase)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self._key = key
        self._root = x509.load_pem_x509_certificate(pki.root_cert_pem.read_bytes())

    def crl(self, now: dt.datetime | None = None) -> bytes:
        """The CRL (DER): every revoked serial with its time and reason."""
        now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self._root.subject)
            .last_update(now)
            .next_update(now + _VALIDITY)
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
        )
        for serial, (when, reason) in sorted(self.pki.revoked().items()):
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(when)
                .add_extension(x509.CRLReason(reason), critical=False)
                .build()
            )
            builder = builder.add_revoked_certificate(entry)
        return builder.sign(self._key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def _issued_by_us(self, request: ocsp.OCSPRequest) -> bool:
        algorithm = request.hash_algorithm
        if not isinstance(algorithm, _REQUEST_HASHES):
            return False
        name_hash = hashes.Hash(algorithm)
        name_hash.update(self._root.subject.public_bytes())
        key_bits = self._root.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        key_hash = hashes.Hash(algorithm)
        key_hash.update(key_bits)
        return request.issuer_name_hash == name_hash.finalize() and request.issuer_key_hash == key_hash.finalize()

    def ocsp(self, request_der: bytes, now: dt.datetime | None = None) -> bytes:
        """The OCSP response (DER) to a request (DER); malformed requests get ``malformedRequest``."""
        try:
            request = ocsp.load_der_ocsp_request(request_der)
        except ValueError:
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        if not self._issued_by_us(request):
            return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        serial = request.serial_number
        revoked = self.pki.revoked().get(serial)
        if self.pki.issued_certificate(serial) is None:
            status, when, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
        elif revoked is not None:
            status, (when, reason) = ocsp.OCSPCertStatus.REVOKED, revoked
        else:
            status, when, reason = ocsp.OCSPCertStatus.GOOD, None, None
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=request.issuer_name_hash,
                issuer_key_hash=request.issuer_key_hash,
                serial_number=serial,
                algorithm=request.hash_algorithm,
                cert_status=status,
                this_update=now,
                next_update=now + _VALIDITY,
                revocation_time=when,
                revocation_reason=reason,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self._root)
        )
        try:
            nonce = request.extensions.get_extension_for_class(x509.OCSPNonce)
            builder = builder.add_extension(nonce.value, critical=False)
        except x509.ExtensionNotFound:
            pass
        response = builder.sign(self._key, hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


def create_app(pki: DevPki) -> FastAPI:
    """The development CA's HTTP service (CRL and OCSP)."""
    ca = DevCa(pki)
    app = FastAPI(title="Development CA (CRL and OCSP)", docs_url=None, redoc_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/crl")
    def crl() -> Response:
        return Response(ca.crl(), media_type=CRL_MEDIA_TYPE)

    @app.post("/ocsp")
    async def ocsp_post(request: Request) -> Response:
        body = await request.body()
        return Response(ca.ocsp(body[:65_536]), media_type=OCSP_MEDIA_TYPE)

    @app.get("/ocsp/{encoded:path}")
    def ocsp_get(encoded: str) -> Response:
        try:
            der = base64.b64decode(urllib.parse.unquote(encoded), validate=True)
        except ValueError:
            der = b""
        return Response(ca.ocsp(der), media_type=OCSP_MEDIA_TYPE)

    return app
