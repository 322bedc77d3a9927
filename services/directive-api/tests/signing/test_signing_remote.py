"""Remote signing mode: the local CSC API v2 service (its own process, the key in SoftHSM2) signs.

approve → 202 with a `remote` signing request → the signer gives their PIN and one-time password →
directive-api finds the credential holding the directory's certificate, has it authorised
(credentials/authorize) and signed (signatures/signHash) through pyHanko's CSC signer, embeds the
signature and approves. A wrong OTP is refused and changes nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from directive_testing import Actors, Api, Clock
from pydantic import SecretStr

from common.pdf.dev_pki import ensure_dev_pki
from common.testing import nss_trust_db
from directive_api.settings import Settings

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT / "scripts"))
from csc_service import totp  # noqa: E402

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
SIGNER = "le-xuan-hoa"
SIGNER_NAME = "Lê Xuân Hoa"
CLIENT_TOKEN = secrets.token_urlsafe(16)
PIN = "482915"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Csc:
    def __init__(self, url: str, certificate_pem: bytes, otp_secret: str) -> None:
        self.url, self.certificate_pem, self.otp_secret = url, certificate_pem, otp_secret


@pytest.fixture(scope="module")
def csc(pki_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Csc]:
    root = tmp_path_factory.mktemp("csc")
    (root / "tokens").mkdir()
    config = root / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(config)}
    user_pin = "97531"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_pem = root / "key.pem"
    key_pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    for args in (
        ["--init-token", "--free", "--label", "csc", "--so-pin", "11223344", "--pin", user_pin],
        ["--import", str(key_pem), "--token", "csc", "--label", "hoa", "--id", "01", "--pin", user_pin],
    ):
        subprocess.run(["softhsm2-util", *args], env=env, check=True, capture_output=True)
    key_pem.unlink()  # the key lives on the token only
    certificate = ensure_dev_pki(pki_dir).certificate_for_key(
        key.public_key(), SIGNER_NAME, "Văn phòng UBND thành phố Cần Thơ"
    )
    otp_secret = base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")
    settings = {
        "module": SOFTHSM_MODULE,
        "token_label": "csc",
        "user_pin": user_pin,
        "clients": {CLIENT_TOKEN: ["cred-hoa"], "another-client": []},
        "credentials": {
            "cred-hoa": {
                "key_label": "hoa",
                "certificates": [certificate.decode()],
                "pin": PIN,
                "otp_secret": otp_secret,
            }
        },
    }
    (root / "csc.json").write_text(json.dumps(settings))
    port = _free_port()
    log = (root / "csc.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts" / "csc_service.py"),
            "--config",
            str(root / "csc.json"),
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if (
                    httpx.post(
                        f"{url}/csc/v2/credentials/list", json={}, headers={"Authorization": f"Bearer {CLIENT_TOKEN}"}
                    ).status_code
                    == 200
                ):
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (root / "csc.log").read_text()
            time.sleep(0.2)
        yield Csc(url, certificate, otp_secret)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def settings(settings: Settings, csc: Csc) -> Settings:
    settings.signing.csc_url = csc.url
    settings.signing.csc_token = SecretStr(CLIENT_TOKEN)
    return settings


def _admin(actors: Actors) -> dict[str, str]:
    return actors.tokens.headers("quan-tri-vien", ["admin"], "VPUB")


def test_the_csc_service_speaks_the_protocol_and_keeps_credentials_apart(csc: Csc) -> None:
    listed = httpx.post(
        f"{csc.url}/csc/v2/credentials/list", json={}, headers={"Authorization": f"Bearer {CLIENT_TOKEN}"}
    )
    assert listed.json() == {"credentialIDs": ["cred-hoa"]}
    other = {"Authorization": "Bearer another-client"}
    assert httpx.post(f"{csc.url}/csc/v2/credentials/list", json={}, headers=other).json() == {"credentialIDs": []}
    refused = httpx.post(
        f"{csc.url}/csc/v2/credentials/authorize",
        json={"credentialID": "cred-hoa", "PIN": PIN, "OTP": totp(csc.otp_secret, time.time()), "hash": ["AA=="]},
        headers=other,
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    assert httpx.post(f"{csc.url}/csc/v2/credentials/list", json={}).status_code == 401


async def test_remote_signing_through_the_csc_service(
    api: Api, actors: Actors, letter: dict[str, Any], csc: Csc, clock: Clock, pki_dir: Path, tmp_path: Path
) -> None:
    clock.now = dt.datetime.now(dt.UTC)
    current = await api.client.get(f"/v1/people/{SIGNER}", headers=_admin(actors))
    changed = await api.client.patch(
        f"/v1/people/{SIGNER}",
        json={"signing_mode": "remote", "signing_certificate": csc.certificate_pem.decode()},
        headers={**_admin(actors), "If-Match": current.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    doc = await api.create(letter)
    doc = await api.advance(doc, "submit", actors.drafter)
    response = await api.act(doc, "approve", actors.signer)
    assert response.status_code == 202, response.text
    request = response.json()
    assert request["mode"] == "remote"
    url = f"/v1/signing-requests/{request['id']}/remote-authorization"

    wrong_otp = str((int(totp(csc.otp_secret, time.time())) + 1) % 1_000_000).zfill(6)
    refused = await api.client.post(url, json={"pin": PIN, "otp": wrong_otp}, headers=actors.signer)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("/remote-authorization-refused")
    assert "OTP" in refused.json()["detail"]
    wrong_pin = await api.client.post(
        url, json={"pin": "000000", "otp": totp(csc.otp_secret, time.time())}, headers=actors.signer
    )
    assert wrong_pin.status_code == 422
    assert (await api.get(doc["id"], actors.monitor)).json()["status"] == "awaiting_signature"
    # The client mode's route does not take a remote request's signature, and vice versa.
    other = await api.client.post(url, json={"pin": PIN, "otp": "1"}, headers=actors.other_signer)
    assert other.status_code == 403

    accepted = await api.client.post(
        url, json={"pin": PIN, "otp": totp(csc.otp_secret, time.time())}, headers=actors.signer
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["directive_status"] == "approved"
    again = await api.client.post(
        url, json={"pin": PIN, "otp": totp(csc.otp_secret, time.time())}, headers=actors.signer
    )
    assert again.status_code == 409

    approved = (await api.get(doc["id"], actors.clerk)).json()
    issued = await api.advance(approved, "issue", actors.clerk)
    assert issued["status"] == "issued"
    pdf = await api.client.get(f"/v1/directives/{doc['id']}/pdf", headers=actors.clerk)
    path = tmp_path / "issued.pdf"
    path.write_bytes(pdf.content)
    out = subprocess.run(
        ["pdfsig", "-nssdir", nss_trust_db(ensure_dev_pki(pki_dir).root_cert_pem, tmp_path / "nss"), str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.count("Signature Validation: Signature is Valid.") == 2
    assert out.count("Certificate Validation: Certificate is Trusted.") == 2
    assert f"Signer Certificate Common Name: {SIGNER_NAME}" in out
    import io

    from cryptography import x509
    from pyhanko.pdf_utils.reader import PdfFileReader

    signer_cert = PdfFileReader(io.BytesIO(pdf.content)).embedded_signatures[0].signer_cert
    expected = x509.load_pem_x509_certificate(csc.certificate_pem).public_bytes(serialization.Encoding.DER)
    assert signer_cert.dump() == expected
