"""Client-mode signing from the docs alone, on the stack ``make run`` starts (docs/api.md, "Signing
mode client"): ``directive-api dev-pki issue`` gives a person a key and a certificate from the
development PKI, the administrator registers it, the signer approves and signs ``signed_attributes``
with Python ``cryptography`` — the letter is approved with the OCSP answer "good" embedded. A
certificate the development CA answers "unknown" for (outside its records) is refused at approve
with 409 ``signing-failed`` naming the status, and the document stays ``submitted``."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from stack_testing import office_people, office_stack, set_signing_mode, submitted_letter

from common.pdf.dev_pki import ensure_dev_pki
from common.pdf.ltv import dss_ocsp_statuses
from directive_api.seed.loader import seed_letter

pytestmark = pytest.mark.slow  # real processes of both services (a whole stack)

BIN = Path(sys.executable).parent


def test_a_client_signer_with_a_dev_pki_certificate_signs_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    with office_stack(tmp_path) as stack:
        var, base = stack.var, stack.base
        people = office_people(stack)
        admin, drafter, signer, clerk = (people[k] for k in ("admin", "drafter", "signer", "clerk"))

        # The documented development path: a key and a certificate for the person.
        out = tmp_path / "token"
        issued = subprocess.run(
            [
                str(BIN / "directive-api"),
                "dev-pki",
                "issue",
                "le-xuan-hoa",
                "--out",
                str(out),
                "--pki",
                str(var / "pki"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert issued.returncode == 0, issued.stderr
        body = json.loads((out / "register.json").read_text())
        assert body["signing_mode"] == "client"
        set_signing_mode(base, admin, "le-xuan-hoa", "client", body["signing_certificate"])

        doc = submitted_letter(base, drafter, seed_letter())
        approve = httpx.post(
            f"{base}/v1/directives/{doc['id']}/approve", headers={**signer, "If-Match": doc["etag"]}, timeout=120
        )
        assert approve.status_code == 202, approve.text
        request = approve.json()

        # docs/api.md's worked example, as a vendor's client would run it.
        key = serialization.load_pem_private_key((out / "signing-key.pem").read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        certificate = x509.load_pem_x509_certificate((out / "signing-certificate.pem").read_bytes())
        signature = key.sign(base64.b64decode(request["signed_attributes"]), ec.ECDSA(hashes.SHA256()))
        answer = httpx.post(
            f"{base}{request['signature_url']}",
            json={
                "signature": base64.b64encode(signature).decode(),
                "certificates": [base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()],
            },
            headers=signer,
            timeout=120,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["directive_status"] == "approved"
        pdf = httpx.get(f"{base}/v1/directives/{doc['id']}/pdf", headers=clerk, timeout=30).content
        assert dss_ocsp_statuses(pdf)[certificate.serial_number] == "good"

        # A certificate with the CA's name and URLs but outside its records: OCSP says "unknown".
        stranger_key = ec.generate_private_key(ec.SECP256R1())
        pki = ensure_dev_pki(var / "pki")
        stranger_pem = pki.certificate_for_key(stranger_key.public_key(), "Lê Xuân Hoa", "Văn phòng UBND")
        stranger = x509.load_pem_x509_certificate(stranger_pem)
        (var / "pki" / "issued" / f"{stranger.serial_number:x}.pem").unlink()
        set_signing_mode(base, admin, "le-xuan-hoa", "client", stranger_pem.decode())
        doc = submitted_letter(base, drafter, seed_letter())
        refused = httpx.post(
            f"{base}/v1/directives/{doc['id']}/approve", headers={**signer, "If-Match": doc["etag"]}, timeout=120
        )
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"].endswith("/signing-failed")
        assert "'unknown'" in refused.json()["detail"]
        after = httpx.get(f"{base}/v1/directives/{doc['id']}", headers=drafter, timeout=10).json()
        assert after["status"] == "submitted" and after["etag"] == doc["etag"]
