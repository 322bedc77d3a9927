"""Outgoing packages are signed with the seal (checked by xmlsec1); a signing partner is verified."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from directive_testing import Actors, Api, Clock
from fastapi import FastAPI

from common.edxml import Organization, ResponseFor, build_status_package, make_status_package, parse_document_package
from common.edxml.signature import sign_package
from common.pdf.dev_pki import ensure_dev_pki
from directive_api.main import create_app
from directive_api.settings import ExchangeSettings, Settings

SNV = Organization(organ_id="000.00.02.H13", organ_name="Sở Nội vụ")
OURS = ResponseFor(organ_id="000.00.01.H13", code="01/VPUB-TTĐH", document_id="000.00.01.H13,2026/11/27,01/VPUB-TTĐH")


def _xmlsec1(path: Path, root_pem: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["xmlsec1", "--verify", "--trusted-pem", str(root_pem), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _dispatched(api: Api, actors: Actors, letter: dict[str, Any]) -> dict[str, Any]:
    issued = await api.advance(await api.approved(letter), "issue", actors.clerk)
    return await api.advance(issued, "dispatch", actors.clerk)


async def test_exported_package_is_signed_with_the_seal_and_verifies_with_xmlsec1(
    api: Api, actors: Actors, letter: dict[str, Any], pki_dir: Path, tmp_path: Path
) -> None:
    doc = await _dispatched(api, actors, letter)
    response = await api.client.get(f"/v1/directives/{doc['id']}/edxml", headers=actors.clerk)
    assert response.status_code == 200, response.text
    package = parse_document_package(response.content)
    assert package.signature is not None
    assert package.signature.signature_method == "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
    # The issuer's own development seal (made on first use, naming the unit as the directory does).
    pki = ensure_dev_pki(pki_dir)
    office = (await api.client.get("/v1/orgs/VPUB", headers=actors.clerk)).json()
    seal_p12, _image = pki.seal_for("VPUB", office["name"])
    _key, certificate, _chain = pkcs12.load_key_and_certificates(seal_p12.read_bytes(), pki.passphrase)
    assert certificate is not None
    assert package.signature.x509_certificate is not None
    assert "".join(package.signature.x509_certificate.split()) in certificate.public_bytes(
        Encoding.PEM
    ).decode().replace("\n", "")

    signed = tmp_path / "letter.edxml"
    signed.write_bytes(response.content)
    verified = _xmlsec1(signed, pki.root_cert_pem)
    assert verified.returncode == 0, verified.stderr
    assert "OK" in verified.stdout + verified.stderr

    # One changed character of the subject: the independent verifier refuses it.
    subject = "tăng cường theo dõi".encode()
    assert subject in response.content
    tampered = tmp_path / "tampered.edxml"
    tampered.write_bytes(response.content.replace(subject, "tăng cường theo dõi!".encode(), 1))
    refused = _xmlsec1(tampered, pki.root_cert_pem)
    assert refused.returncode != 0
    # And a root that did not issue the seal is not trusted.
    other_root = ensure_dev_pki(tmp_path / "other-pki").root_cert_pem
    assert _xmlsec1(signed, other_root).returncode != 0


@pytest.fixture
def partner(tmp_path: Path) -> tuple[Any, Path]:
    """A partner's own key (its PKI) and the certificate the Office configured for it."""
    pki = ensure_dev_pki(tmp_path / "partner-pki")
    key, certificate, chain = pkcs12.load_key_and_certificates(pki.signer_p12.read_bytes(), pki.passphrase)
    assert certificate is not None
    pem = tmp_path / "partner.pem"
    pem.write_bytes(certificate.public_bytes(Encoding.PEM))
    return (key, [certificate, *chain]), pem


@pytest.fixture
async def signing_app(settings: Settings, clock: Clock, partner: tuple[Any, Path]) -> AsyncIterator[FastAPI]:
    configured = settings.model_copy(
        update={"exchange": ExchangeSettings(partner_certificates={SNV.organ_id: partner[1]})}
    )
    application = create_app(configured, clock=clock)
    yield application
    await application.state.engine.dispose()


async def test_a_partner_configured_to_sign_must_send_valid_signatures(
    signing_app: FastAPI, actors: Actors, letter: dict[str, Any], partner: tuple[Any, Path], pki_dir: Path
) -> None:
    transport = httpx.ASGITransport(app=signing_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://directive-api.test") as client:
        api = Api(client, actors)
        doc = await _dispatched(api, actors, letter)
        (key, chain), _pem = partner
        unsigned = build_status_package(
            make_status_package(sender=SNV, document=OURS, status_code="03", timestamp=datetime(2026, 11, 28, 9, 0))
        )
        snv_clerk = actors.tokens.headers("clerk-snv", ["clerk"], "SNV")  # the sender posts its own packages
        headers = {**snv_clerk, "Content-Type": "application/xml"}

        async def post(body: bytes) -> httpx.Response:
            return await client.post("/v1/edxml/status", content=body, headers=headers)

        async def snv_status() -> str:
            items = (await client.get(f"/v1/directives/{doc['id']}/recipients", headers=actors.clerk)).json()["items"]
            status: str = next(i for i in items if i["unit_code"] == "SNV")["status"]
            return status

        missing = await post(unsigned)
        assert missing.status_code == 422
        assert missing.json()["code"] == "invalid_signature"
        seal = ensure_dev_pki(pki_dir)
        seal_key, seal_cert, seal_chain = pkcs12.load_key_and_certificates(seal.seal_p12.read_bytes(), seal.passphrase)
        assert seal_cert is not None
        wrong_key = await post(sign_package(unsigned, seal_key, [seal_cert, *seal_chain]))  # type: ignore[arg-type]
        assert wrong_key.status_code == 422
        signed = sign_package(unsigned, key, chain)
        tampered = signed.replace("Tiếp nhận".encode(), "Từ chối".encode(), 1)
        assert tampered != signed
        assert (await post(tampered)).status_code == 422
        assert await snv_status() == "sent"  # nothing refused changed anything

        accepted = await post(signed)
        assert accepted.status_code == 200, accepted.text
        assert await snv_status() == "03"
