"""A local remote-signing service speaking the Cloud Signature Consortium API v2 (for tests and ``make run``).

It stands in for a licensed remote-signing provider: credentials/list, credentials/info,
credentials/authorize (the holder's PIN and a TOTP one-time password, RFC 6238) and
signatures/signHash, with the keys in a PKCS#11 token (SoftHSM2). A client (bearer token) sees and
uses only the credentials granted to it; a SAD (signature activation data) is bound to one
credential, to the hashes it was authorised for (SCAL 2) and expires.

    python scripts/csc_service.py --config csc.json --port 8010
    python scripts/csc_service.py --config var/csc/csc.json --enroll le-xuan-hoa --name "Lê Xuân Hoa" \
        --organisation "Văn phòng UBND thành phố Cần Thơ" --pki var/pki   # prints certificate, PIN, TOTP secret

``make run`` starts it with a state folder ``var/csc`` (a SoftHSM2 token, directive-api's client token).

The configuration (JSON)::

    {"module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "csc", "user_pin": "…",
     "clients": {"<bearer token>": ["<credential id>", …]},
     "credentials": {"<credential id>": {"key_label": "…", "certificates": ["<PEM>", …],
                                         "pin": "…", "otp_secret": "<base32>"}}}
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pkcs11
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from pkcs11 import Mechanism, ObjectClass

SHA256 = "2.16.840.1.101.3.4.2.1"
SHA256_WITH_RSA = "1.2.840.113549.1.1.11"
_DIGEST_INFO_SHA256 = bytes.fromhex("3031300d060960864801650304020105000420")
SAD_SECONDS = 300


def totp(secret_b32: str, at: float, *, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP (HMAC-SHA1), as authenticator apps compute it."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // step)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


@dataclass
class Grant:
    credential_id: str
    hashes: frozenset[str]
    remaining: int
    expires: float


@dataclass
class State:
    config: dict[str, Any]
    path: Path | None = None
    mtime: float = 0.0
    grants: dict[str, Grant] = field(default_factory=dict)

    def refresh(self) -> None:
        """Re-read the configuration when it changed (a credential enrolled while running)."""
        if self.path is not None and self.path.stat().st_mtime != self.mtime:
            self.mtime = self.path.stat().st_mtime
            self.config = json.loads(self.path.read_text())


def _error(status: int, error: str, description: str) -> HTTPException:
    return HTTPException(status, detail={"error": error, "error_description": description})


def create_app(config: dict[str, Any], path: Path | None = None) -> FastAPI:
    app = FastAPI(title="Local CSC API v2 signing service")
    state = State(config, path, path.stat().st_mtime if path else 0.0)
    token = pkcs11.lib(config["module"]).get_token(token_label=config["token_label"])

    @app.exception_handler(HTTPException)
    async def csc_error(_request: Any, exc: HTTPException) -> JSONResponse:
        return JSONResponse(exc.detail, status_code=exc.status_code)

    def granted(authorization: str | None) -> list[str]:
        state.refresh()
        bearer = (authorization or "").removeprefix("Bearer ").strip()
        credentials = state.config["clients"].get(bearer)
        if not bearer or credentials is None:
            raise _error(401, "invalid_token", "unknown or missing bearer token")
        return list(credentials)

    def credential(authorization: str | None, credential_id: Any) -> dict[str, Any]:
        if credential_id not in granted(authorization):
            raise _error(400, "invalid_request", "Invalid parameter credentialID")
        found: dict[str, Any] = state.config["credentials"][credential_id]
        return found

    @app.post("/csc/v2/credentials/list")
    async def credentials_list(_body: dict[str, Any], authorization: str | None = Header(None)) -> dict[str, Any]:
        return {"credentialIDs": granted(authorization)}

    @app.post("/csc/v2/credentials/info")
    async def credentials_info(body: dict[str, Any], authorization: str | None = Header(None)) -> dict[str, Any]:
        entry = credential(authorization, body.get("credentialID"))
        ders = [
            x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER) for pem in entry["certificates"]
        ]
        return {
            "key": {"status": "enabled", "algo": [SHA256_WITH_RSA], "len": 2048},
            "cert": {"status": "valid", "certificates": [base64.b64encode(der).decode() for der in ders]},
            "authMode": "explicit",
            "PIN": {"presence": "true", "format": "N"},
            "OTP": {"presence": "true", "type": "offline", "format": "N", "ID": "totp"},
            "SCAL": "2",
            "multisign": 1,
        }

    @app.post("/csc/v2/credentials/authorize")
    async def credentials_authorize(body: dict[str, Any], authorization: str | None = Header(None)) -> dict[str, Any]:
        entry = credential(authorization, body.get("credentialID"))
        if not hmac.compare_digest(str(body.get("PIN", "")), entry["pin"]):
            raise _error(400, "invalid_pin", "The PIN is invalid")
        now = time.time()
        expected = {totp(entry["otp_secret"], now + drift) for drift in (-30, 0, 30)}
        if str(body.get("OTP", "")) not in expected:
            raise _error(400, "invalid_otp", "The OTP is invalid")
        hashes = body.get("hash")
        if not isinstance(hashes, list) or not hashes:
            raise _error(400, "invalid_request", "SCAL 2: the hashes to sign are required")
        sad = secrets.token_urlsafe(32)
        state.grants[sad] = Grant(
            body["credentialID"], frozenset(hashes), int(body.get("numSignatures", 1)), now + SAD_SECONDS
        )
        return {"SAD": sad, "expiresIn": SAD_SECONDS}

    @app.post("/csc/v2/signatures/signHash")
    async def sign_hash(body: dict[str, Any], authorization: str | None = Header(None)) -> dict[str, Any]:
        entry = credential(authorization, body.get("credentialID"))
        grant = state.grants.get(str(body.get("SAD")))
        hashes = body.get("hash") or []
        if grant is None or grant.credential_id != body.get("credentialID") or grant.expires < time.time():
            raise _error(400, "invalid_request", "Invalid SAD")
        if not set(hashes) <= grant.hashes or len(hashes) > grant.remaining:
            raise _error(400, "invalid_request", "The hashes were not authorised by this SAD")
        if body.get("hashAlgo") not in (None, SHA256) or body.get("signAlgo") != SHA256_WITH_RSA:
            raise _error(400, "invalid_request", "Only sha256WithRSAEncryption is supported")
        grant.remaining -= len(hashes)
        if grant.remaining <= 0:
            state.grants.pop(str(body.get("SAD")), None)
        signatures = []
        with token.open(user_pin=state.config["user_pin"]) as session:
            key: Any = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=entry["key_label"])
            for item in hashes:
                digest = base64.b64decode(item)
                signatures.append(
                    base64.b64encode(key.sign(_DIGEST_INFO_SHA256 + digest, mechanism=Mechanism.RSA_PKCS))
                )
        return {"signatures": [s.decode() for s in signatures]}

    return app


MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def prepare_state(folder: Path) -> tuple[Path, dict[str, str]]:
    """A state folder for ``make run``: a SoftHSM2 token and a configuration with one client token.

    Returns the configuration path and the environment (``SOFTHSM2_CONF``) the service runs with.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokens").mkdir(exist_ok=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    path = folder / "csc.json"
    if not path.exists():
        user_pin = secrets.token_hex(4)
        subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                "csc",
                "--so-pin",
                secrets.token_hex(4),
                "--pin",
                user_pin,
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        config = {
            "module": MODULE,
            "token_label": "csc",
            "user_pin": user_pin,
            "clients": {secrets.token_urlsafe(24): []},
            "credentials": {},
        }
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)
    return path, env


def client_token(path: Path) -> str:
    """The (first) client token of a configuration: directive-api's bearer token at the service."""
    return str(next(iter(json.loads(path.read_text())["clients"])))


def enroll(path: Path, *, credential_id: str, common_name: str, organisation: str, pki_dir: Path) -> dict[str, str]:
    """Give a person a credential: an RSA key in the token, a development certificate, a PIN and a TOTP secret.

    The certificate is what the administrator sets as the person's ``signing_certificate``.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from common.pdf.dev_pki import ensure_dev_pki

    config = json.loads(path.read_text())
    env = {**os.environ, "SOFTHSM2_CONF": str(path.parent / "softhsm2.conf")}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_pem = path.parent / f"{credential_id}.key.pem"
    key_pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    try:
        label = f"key-{credential_id}"
        command = ["softhsm2-util", "--import", str(key_pem), "--token", "csc", "--label", label, "--pin"]
        command += [config["user_pin"], "--id", secrets.token_hex(4)]
        subprocess.run(
            command,
            env=env,
            check=True,
            capture_output=True,
        )
    finally:
        key_pem.unlink()  # the key lives on the token only
    certificate = ensure_dev_pki(pki_dir).certificate_for_key(key.public_key(), common_name, organisation).decode()
    entry: dict[str, Any] = {
        "key_label": label,
        "certificates": [certificate],
        "pin": f"{secrets.randbelow(10**6):06d}",
        "otp_secret": base64.b32encode(secrets.token_bytes(20)).decode().rstrip("="),
    }
    config["credentials"][credential_id] = entry
    for granted in config["clients"].values():
        granted.append(credential_id)
    path.write_text(json.dumps(config, indent=2))
    return {
        "credential_id": credential_id,
        "certificate": certificate,
        "pin": entry["pin"],
        "otp_secret": entry["otp_secret"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--enroll", metavar="CREDENTIAL_ID", help="enrol a credential instead of serving")
    parser.add_argument("--name", help="with --enroll: the holder's full name (certificate CN)")
    parser.add_argument("--organisation", default="", help="with --enroll: the holder's unit (certificate O)")
    parser.add_argument("--pki", type=Path, default=Path("var/pki"), help="with --enroll: the development PKI folder")
    args = parser.parse_args()
    if args.enroll:
        made = enroll(
            args.config,
            credential_id=args.enroll,
            common_name=args.name or args.enroll,
            organisation=args.organisation,
            pki_dir=args.pki,
        )
        print(json.dumps(made, ensure_ascii=False, indent=2))
        return
    uvicorn.run(
        create_app(json.loads(args.config.read_text()), args.config),
        host=args.host,
        port=args.port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
