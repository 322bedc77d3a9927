"""The development CA's CRL and OCSP service, its own process (for tests and ``make run``).

It stands in for a certification authority's revocation services: ``GET /crl`` and ``POST /ocsp``
(see :mod:`common.pdf.dev_ca`). At start it records its URL in the development PKI folder, so the
certificates issued from then on name it, and signatures embed its answers (PAdES B-LT).

    python scripts/dev_ca.py --pki var/pki --port 8020
    python scripts/dev_ca.py --pki var/pki --revoke 5f3a…   # revoke a certificate by serial (hex)
    python scripts/dev_ca.py --pki var/pki --revoke signer.pem
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from cryptography import x509

from common.pdf.dev_ca import create_app
from common.pdf.dev_pki import ensure_dev_pki


def revocation_url(host: str, port: int) -> str:
    """The base URL the certificates name for a CA process listening on ``host:port``."""
    return f"http://{host}:{port}"


def _serial(value: str) -> int:
    path = Path(value)
    if path.is_file():
        return x509.load_pem_x509_certificate(path.read_bytes()).serial_number
    return int(value.removeprefix("0x"), 16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pki", type=Path, default=Path("var/pki"), help="the development PKI folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8020)
    parser.add_argument("--revoke", metavar="SERIAL_OR_PEM", help="revoke a certificate instead of serving")
    parser.add_argument(
        "--reason",
        default="key_compromise",
        choices=[reason.name for reason in x509.ReasonFlags],
        help="with --revoke: the CRL reason",
    )
    args = parser.parse_args()
    if args.revoke:
        pki = ensure_dev_pki(args.pki)
        try:
            serial = _serial(args.revoke)
            pki.revoke(serial, reason=x509.ReasonFlags[args.reason])
        except (KeyError, ValueError) as exc:
            parser.exit(2, f"dev_ca: {exc}\n")
        print(f"revoked {serial:x}")
        return
    pki = ensure_dev_pki(args.pki, revocation_url=revocation_url(args.host, args.port))
    uvicorn.run(create_app(pki), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
