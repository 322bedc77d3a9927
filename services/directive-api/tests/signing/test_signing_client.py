"""Client signing mode: the signer's own token (SoftHSM2 through PKCS#11) signs the signing request.

approve → 202 `awaiting_signature` with the request → the test client signs the signed attributes
on the token and posts the signature with its certificate → `approved` → issued with the seal; the
issued PDF is checked with pdfsig. Wrong key, another certificate, an untrusted or expired
certificate and a replayed signature are refused and leave the document where it was; abandoning
and timing out return it to `submitted` with history.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from directive_testing import Actors, Api, Clock
from fastapi import FastAPI
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

from common.db import transaction
from common.pdf.dev_pki import DevPki, ensure_dev_pki
from common.testing import nss_trust_db
from directive_api.signing import service as signing

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN = "signer-token"
USER_PIN = "135790"
SIGNER = "le-xuan-hoa"
SIGNER_NAME = "Lê Xuân Hoa"


@dataclass
class Token:
    """The signer's token, as their signing client sees it."""

    token: Any
    certificate_pem: bytes

    @property
    def certificate_der(self) -> bytes:
        return x509.load_pem_x509_certificate(self.certificate_pem).public_bytes(serialization.Encoding.DER)

    def sign(self, data: bytes) -> bytes:
        with self.token.open(user_pin=USER_PIN) as session:
            key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label="signer")
            signature: bytes = key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS)
            return signature


@pytest.fixture(scope="module")
def token(pki_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Token]:
    """A SoftHSM2 token with an RSA key made on the token; the development CA certifies its public key."""
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    config = root / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(config)
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--so-pin", "24681012", "--pin", USER_PIN],
        check=True,
        capture_output=True,
    )
    library = pkcs11.lib(SOFTHSM_MODULE)
    # The module is loaded once per process and reads SOFTHSM2_CONF when initialised: an earlier test
    # (another token folder) may have initialised it already, so it must read this folder afresh.
    library.reinitialize()
    device = library.get_token(token_label=TOKEN)
    with device.open(rw=True, user_pin=USER_PIN) as session:
        public, _private = session.generate_keypair(KeyType.RSA, 2048, label="signer", store=True)
        numbers = rsa.RSAPublicNumbers(
            int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"), int.from_bytes(public[Attribute.MODULUS], "big")
        )
    pki = ensure_dev_pki(pki_dir)
    certificate = pki.certificate_for_key(numbers.public_key(), SIGNER_NAME, "Văn phòng UBND thành phố Cần Thơ")
    yield Token(device, certificate)
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


def _admin(actors: Actors) -> dict[str, str]:
    return actors.tokens.headers("quan-tri-vien", ["admin"], "VPUB")


async def _set_signer(client: httpx.AsyncClient, actors: Actors, **change: Any) -> dict[str, Any]:
    current = await client.get(f"/v1/people/{SIGNER}", headers=_admin(actors))
    assert current.status_code == 200, current.text
    changed = await client.patch(
        f"/v1/people/{SIGNER}", json=change, headers={**_admin(actors), "If-Match": current.headers["ETag"]}
    )
    assert changed.status_code == 200, changed.text
    person: dict[str, Any] = changed.json()
    return person


@pytest.fixture
async def client_signer(api: Api, actors: Actors, token: Token, clock: Clock) -> Token:
    # Certificates are issued now: the service's clock must be within their validity.
    clock.now = dt.datetime.now(dt.UTC)
    await _set_signer(api.client, actors, signing_mode="client", signing_certificate=token.certificate_pem.decode())
    return token


async def _awaiting(api: Api, letter: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], str]:
    doc = await api.create(letter)
    doc = await api.advance(doc, "submit", api.actors.drafter)
    response = await api.act(doc, "approve", api.actors.signer)
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/v1/signing-requests/{response.json()['id']}"
    return doc, response.json(), response.headers["ETag"]


def _submission(token: Token, request: dict[str, Any], *, signature: bytes | None = None) -> dict[str, Any]:
    attributes = base64.b64decode(request["signed_attributes"])
    value = signature if signature is not None else token.sign(attributes)
    return {
        "signature": base64.b64encode(value).decode(),
        "certificates": [base64.b64encode(token.certificate_der).decode()],
    }


async def _status(api: Api, doc_id: str) -> str:
    response = await api.get(doc_id, api.actors.monitor)
    status: str = response.json()["status"]
    return status


async def test_the_token_signs_and_the_issued_pdf_carries_the_directorys_certificate(
    api: Api, actors: Actors, letter: dict[str, Any], client_signer: Token, pki_dir: Path, tmp_path: Path
) -> None:
    doc, request, etag = await _awaiting(api, letter)
    assert request["status"] == "pending" and request["mode"] == "client"
    assert await _status(api, doc["id"]) == "awaiting_signature"
    # What the signer may do next is what has a route: abandon (the signature goes to the request).
    assert (await api.get(doc["id"], actors.signer)).json()["allowed_actions"] == ["abandon_signature"]
    shown = await api.client.get(f"/v1/signing-requests/{request['id']}", headers=actors.signer)
    assert shown.status_code == 200 and shown.json()["signed_attributes"] == request["signed_attributes"]
    # Only the signer sees the request.
    other = await api.client.get(f"/v1/signing-requests/{request['id']}", headers=actors.other_signer)
    assert other.status_code == 403 and other.headers["content-type"] == "application/problem+json"
    # Not yet approved: the clerk cannot issue.
    early = await api.client.post(f"/v1/directives/{doc['id']}/issue", headers={**actors.clerk, "If-Match": etag})
    assert early.status_code == 409

    accepted = await api.client.post(
        request["signature_url"], json=_submission(client_signer, request), headers=actors.signer
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["directive_status"] == "approved"

    # Replayed: the same signature again is refused, nothing changes.
    replay = await api.client.post(
        request["signature_url"], json=_submission(client_signer, request), headers=actors.signer
    )
    assert replay.status_code == 409
    assert replay.json()["type"].endswith("/signing-request-closed")
    assert "completed" in replay.json()["detail"]

    approved = (await api.get(doc["id"], actors.clerk)).json()
    assert approved["status"] == "approved"
    issued = await api.advance(approved, "issue", actors.clerk)
    assert issued["status"] == "issued"
    pdf = await api.client.get(f"/v1/directives/{doc['id']}/pdf", headers=actors.clerk)
    assert pdf.status_code == 200
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
    # The certificate in the signer's signature is exactly the one the directory names.
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    signature = PdfFileReader(io.BytesIO(pdf.content)).embedded_signatures[0]
    assert signature.signer_cert.dump() == client_signer.certificate_der
    history = [row["action"] for row in await api.history(doc["id"])]
    assert history[-3:] == ["request_signature", "complete_signature", "issue"]


async def test_wrong_signatures_are_refused_and_change_nothing(
    api: Api, actors: Actors, letter: dict[str, Any], client_signer: Token, pki_dir: Path, tmp_path: Path
) -> None:
    doc, request, _ = await _awaiting(api, letter)
    url = request["signature_url"]

    # A signature by another key.
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attributes = base64.b64decode(request["signed_attributes"])
    forged = other_key.sign(attributes, padding.PKCS1v15(), hashes.SHA256())
    wrong_key = await api.client.post(
        url, json=_submission(client_signer, request, signature=forged), headers=actors.signer
    )
    assert wrong_key.status_code == 422
    assert wrong_key.json()["type"].endswith("/signature-invalid")

    # Another certificate than the directory's (even one the development CA issued for the same name).
    pki: DevPki = ensure_dev_pki(pki_dir)
    impostor = pki.certificate_for_key(other_key.public_key(), SIGNER_NAME, "Văn phòng UBND thành phố Cần Thơ")
    impostor_der = x509.load_pem_x509_certificate(impostor).public_bytes(serialization.Encoding.DER)
    mismatch = await api.client.post(
        url,
        json={
            "signature": base64.b64encode(forged).decode(),
            "certificates": [base64.b64encode(impostor_der).decode()],
        },
        headers=actors.signer,
    )
    assert mismatch.status_code == 422
    assert mismatch.json()["type"].endswith("/signer-certificate-mismatch")

    # Garbage in the body is a 422 too, never a 500.
    garbage = await api.client.post(url, json={"signature": "not base64!", "certificates": []}, headers=actors.signer)
    assert garbage.status_code == 422

    # Someone else's token cannot answer the signer's request.
    stranger = await api.client.post(url, json=_submission(client_signer, request), headers=actors.other_signer)
    assert stranger.status_code == 403

    assert await _status(api, doc["id"]) == "awaiting_signature"
    shown = await api.client.get(f"/v1/signing-requests/{request['id']}", headers=actors.signer)
    assert shown.json()["status"] == "pending"

    # The administrator replaces the signer's certificate (a lost token): the request's no longer signs.
    await _set_signer(api.client, actors, signing_certificate=impostor.decode())
    replaced = await api.client.post(url, json=_submission(client_signer, request), headers=actors.signer)
    assert replaced.status_code == 422
    assert replaced.json()["type"].endswith("/signer-certificate-mismatch")
    await _set_signer(api.client, actors, signing_certificate=client_signer.certificate_pem.decode())

    # The right signature still goes through afterwards.
    accepted = await api.client.post(url, json=_submission(client_signer, request), headers=actors.signer)
    assert accepted.status_code == 200, accepted.text


async def test_an_expired_or_untrusted_certificate_is_refused(
    api: Api, actors: Actors, letter: dict[str, Any], client_signer: Token, tmp_path: Path, pki_dir: Path
) -> None:
    # The directory names a certificate for the token's key that has expired.
    pki = ensure_dev_pki(pki_dir)
    public = x509.load_pem_x509_certificate(client_signer.certificate_pem).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    now = dt.datetime.now(dt.UTC)
    expired = pki.certificate_for_key(
        public, SIGNER_NAME, "VP", not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(hours=1)
    )
    foreign = ensure_dev_pki(tmp_path / "foreign-ca").certificate_for_key(public, SIGNER_NAME, "VP")
    for certificate in (expired, foreign):
        await _set_signer(api.client, actors, signing_certificate=certificate.decode())
        doc, request, _ = await _awaiting(api, letter)
        token = Token(client_signer.token, certificate)
        refused = await api.client.post(
            request["signature_url"], json=_submission(token, request), headers=actors.signer
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["type"].endswith("/certificate-not-trusted")
        assert await _status(api, doc["id"]) == "awaiting_signature"


async def test_abandoning_and_timing_out_return_the_document_to_submitted(
    app: FastAPI, api: Api, actors: Actors, letter: dict[str, Any], client_signer: Token, clock: Clock
) -> None:
    doc, request, etag = await _awaiting(api, letter)
    abandoned = await api.client.post(
        f"/v1/directives/{doc['id']}/abandon_signature",
        json={"comment": "Token ở cơ quan, ký sau"},
        headers={**actors.signer, "If-Match": etag},
    )
    assert abandoned.status_code == 200, abandoned.text
    assert abandoned.json()["status"] == "submitted"
    late = await api.client.post(
        request["signature_url"], json=_submission(client_signer, request), headers=actors.signer
    )
    assert late.status_code == 409
    assert late.json()["type"].endswith("/signing-request-closed")
    assert "abandoned" in late.json()["detail"] and "accepted once" not in late.json()["detail"]

    # Approved again: a new request; nobody signs; it expires.
    again = await api.act(abandoned.json(), "approve", actors.signer)
    assert again.status_code == 202
    second = again.json()
    assert second["id"] != request["id"]
    clock.now = clock.now + dt.timedelta(seconds=901)
    expired = await api.client.post(
        second["signature_url"], json=_submission(client_signer, second), headers=actors.signer
    )
    assert expired.status_code == 409
    assert expired.json()["type"].endswith("/signing-request-expired")
    assert await _status(api, doc["id"]) == "awaiting_signature"
    async with transaction(app.state.sessionmaker) as session:
        assert await signing.expire_due(session, now=clock.now, workflow=app.state.workflow) == 1
    assert await _status(api, doc["id"]) == "submitted"
    rows = await api.history(doc["id"])
    actions = [(row["action"], row["to_status"]) for row in rows]
    assert actions[-4:] == [
        ("request_signature", "awaiting_signature"),
        ("abandon_signature", "submitted"),
        ("request_signature", "awaiting_signature"),
        ("expire_signature", "submitted"),
    ]


async def test_the_directory_names_the_mode_and_refuses_what_cannot_work(
    api: Api, actors: Actors, letter: dict[str, Any]
) -> None:
    seeded = await _set_signer(api.client, actors, is_active=True)
    assert seeded["signing_mode"] == "server" and seeded["signing_certificate"] is None
    etag = f'"{seeded["version"]}"'
    for change, location in (
        ({"signing_mode": "token"}, "signing_mode"),
        ({"signing_certificate": "not a certificate"}, "signing_certificate"),
        (
            {"signing_certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
            "signing_certificate",
        ),
    ):
        refused = await api.client.patch(
            f"/v1/people/{SIGNER}", json=change, headers={**_admin(actors), "If-Match": etag}
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert any(error["location"][-1] == location for error in refused.json()["errors"]), refused.json()

    # Client mode without a certificate: approve is refused and the document stays submitted.
    await _set_signer(api.client, actors, signing_mode="client")
    doc = await api.create(letter)
    doc = await api.advance(doc, "submit", actors.drafter)
    refused = await api.act(doc, "approve", actors.signer)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/signer-certificate-missing")
    assert await _status(api, doc["id"]) == "submitted"

    # Remote mode without a remote signing service configured: refused, still submitted.
    await _set_signer(api.client, actors, signing_mode="remote")
    unavailable = await api.act(doc, "approve", actors.signer)
    assert unavailable.status_code == 409
    assert unavailable.json()["type"].endswith("/signing-mode-unavailable")
    assert await _status(api, doc["id"]) == "submitted"

    # Back to server mode: approve signs at once, as before.
    await _set_signer(api.client, actors, signing_mode="server")
    approved = await api.act(doc, "approve", actors.signer)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
