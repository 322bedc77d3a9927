"""A revoked signer cannot approve: on the embedded stack (what ``make run`` starts), the development
CA's process answers OCSP; once the signer's development certificate is revoked there, approve is
refused with a problem saying so and the document stays ``submitted``."""

from __future__ import annotations

from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from stack_testing import office_stack, stack_headers, submitted_letter

from common.pdf.dev_pki import ensure_dev_pki
from directive_api.seed.loader import seed_letter


def test_a_revoked_signer_certificate_refuses_the_approval(tmp_path: Path) -> None:
    with office_stack(tmp_path) as stack:
        var, base = stack.var, stack.base
        letter = seed_letter()  # VPUB's letter, signed by le-xuan-hoa
        drafter = stack_headers(var, "tran-van-an", ["drafter"], "VPUB")
        person = httpx.get(f"{base}/v1/people/{letter['signer_id']}", headers=drafter, timeout=10).json()
        issuer = httpx.get(f"{base}/v1/orgs/VPUB", headers=drafter, timeout=10).json()
        signer = stack_headers(var, person["id"], ["signer"], person["unit_code"])

        # The certificate the service will sign with (issued on first use, naming the person and the
        # issuer, and the CA's OCSP responder), revoked at the CA before approval.
        pki = ensure_dev_pki(var / "pki")
        assert pki.revocation_url is not None
        p12 = pki.signer_for(person["id"], person["full_name"], issuer["name"])
        certificate = pkcs12.load_key_and_certificates(p12.read_bytes(), pki.passphrase)[1]
        assert certificate is not None
        assert certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
        pki.revoke(certificate.serial_number)

        doc = submitted_letter(base, drafter, letter)

        refused = httpx.post(
            f"{base}/v1/directives/{doc['id']}/approve", headers={**signer, "If-Match": doc["etag"]}, timeout=120
        )
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["type"].endswith("/signing-failed")
        assert "revoked" in problem["detail"]

        after = httpx.get(f"{base}/v1/directives/{doc['id']}", headers=drafter, timeout=10).json()
        assert after["status"] == "submitted" and after["etag"] == doc["etag"]
