"""Remote signing on the stack ``make run`` starts: the local CSC API v2 service runs beside both
services; a person enrolled there and switched to ``remote`` by the administrator approves with
their PIN and one-time password, and the letter is issued with both signatures valid."""

from __future__ import annotations

import time
from pathlib import Path

import csc_service
import httpx
import pytest
from cryptography import x509
from stack_testing import office_people, office_stack, set_signing_mode, submitted_letter

from common.pdf.ltv import dss_ocsp_statuses
from common.pdf.verify import verify_pdf
from directive_api.seed.loader import seed_letter

pytestmark = pytest.mark.slow  # real processes of both services (a whole stack)


def test_a_remote_signer_approves_through_the_local_csc_service(tmp_path: Path) -> None:
    with office_stack(tmp_path) as stack:
        var, base = stack.var, stack.base
        people = office_people(stack)
        signer, clerk = people["signer"], people["clerk"]
        made = csc_service.enroll(
            var / "csc" / "csc.json",
            credential_id="le-xuan-hoa",
            common_name="Lê Xuân Hoa",
            organisation="Văn phòng UBND thành phố Cần Thơ",
            pki_dir=var / "pki",
        )
        set_signing_mode(base, people["admin"], "le-xuan-hoa", "remote", made["certificate"])
        doc = submitted_letter(base, people["drafter"], seed_letter())
        approve = httpx.post(
            f"{base}/v1/directives/{doc['id']}/approve", headers={**signer, "If-Match": doc["etag"]}, timeout=120
        )
        assert approve.status_code == 202, approve.text
        url = f"{base}/v1/signing-requests/{approve.json()['id']}/remote-authorization"
        otp = csc_service.totp(made["otp_secret"], time.time())
        accepted = httpx.post(url, json={"pin": made["pin"], "otp": otp}, headers=signer, timeout=120)
        assert accepted.status_code == 200, accepted.text

        approved = httpx.get(f"{base}/v1/directives/{doc['id']}", headers=clerk, timeout=10).json()
        issued = httpx.post(
            f"{base}/v1/directives/{doc['id']}/issue", headers={**clerk, "If-Match": approved["etag"]}, timeout=120
        )
        assert issued.status_code == 200, issued.text
        pdf = httpx.get(f"{base}/v1/directives/{doc['id']}/pdf", headers=clerk, timeout=30).content
    report = verify_pdf(pdf, [(var / "pki" / "root-ca.pem").read_bytes()])
    assert not report.altered
    assert len(report.signatures) == 2
    assert report.signatures[0].signer_common_name == "Lê Xuân Hoa"
    assert all(s.valid and s.intact and s.trusted and s.timestamp_present for s in report.signatures)
    # PAdES B-LT: the development CA's OCSP answer for the credential's certificate is in the file.
    credential = x509.load_pem_x509_certificate(made["certificate"].encode())
    assert dss_ocsp_statuses(pdf).get(credential.serial_number) == "good"
