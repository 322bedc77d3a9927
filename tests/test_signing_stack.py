"""The signing scenarios on the stack ``make run`` starts, one stack for the module: a City People's
Committee letter issued out of the box (any issuer), a revoked signer refused, a client signer
(``dev-pki issue``) and a remote signer (the local CSC service) approving.

Each test drafts its own documents. They share the stack (starting one costs more CPU than any of
these scenarios) and run in this order: the any-issuer letter on the stack as it started (UBND-TP's
first number), then the revoked signer on the service's key, then the client and the remote signer,
who switch le-xuan-hoa's signing mode.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import csc_service
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from stack_testing import Stack, office_people, office_stack, set_signing_mode, stack_headers, submitted_letter

from common.pdf.dev_pki import ensure_dev_pki
from common.pdf.ltv import dss_counts, dss_ocsp_statuses
from common.pdf.verify import verify_pdf
from common.testing import nss_trust_db
from directive_api.seed.loader import seed_letter

BIN = Path(sys.executable).parent
PYHANKO_CLI = BIN / "pyhanko"

pytestmark = pytest.mark.slow  # real processes of both services (a whole stack)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for the module's tests."""
    with office_stack(tmp_path_factory.mktemp("signing")) as running:
        yield running


def test_a_city_committee_letter_is_issued_on_a_fresh_stack(stack: Stack, tmp_path: Path) -> None:
    """Any issuer out of the box: a letter of the City People's Committee is drafted, approved by its
    seeded Phó Chủ tịch under three authority lines, and issued with both signatures valid and
    timestamped, checked by pdfsig, the pyhanko CLI and pdftotext. First in the module: the stack
    is as ``make run`` leaves it, nothing changed by another test."""
    base, root_pem = stack.base, stack.var / "pki" / "root-ca.pem"
    drafter = stack.headers("ubnd-chuyen-vien", ["drafter"], "UBND-TP")
    vice_chair = stack.headers("nguyen-thanh-long", ["signer"], "UBND-TP")
    clerk = stack.headers("ubnd-van-thu", ["clerk"], "UBND-TP")

    person = httpx.get(f"{base}/v1/people/nguyen-thanh-long", headers=drafter, timeout=10).json()
    assert person["unit_code"] == "UBND-TP"
    assert person["signature_titles"]["TM."] == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]

    letter = {
        **seed_letter(),
        "issuer_code": "UBND-TP",
        "drafting_unit": "KT",
        "signer_id": "nguyen-thanh-long",
        "signing_authority": "TM.",
    }
    created = httpx.post(
        f"{base}/v1/directives",
        json=letter,
        headers={**drafter, "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    doc: dict[str, Any] = created.json()
    assert doc["number_line"] == "Số:    /UBND-KT"
    assert doc["signature_title_lines"] == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]

    for action, who in (("submit", drafter), ("approve", vice_chair), ("issue", clerk)):
        response = httpx.post(
            f"{base}/v1/directives/{doc['id']}/{action}",
            headers={**who, "If-Match": doc["etag"]},
            timeout=120,
        )
        assert response.status_code == 200, (action, response.text)
        doc = response.json()
    assert doc["status"] == "issued"
    assert doc["notation"] == "01/UBND-KT"

    pdf = httpx.get(f"{base}/v1/directives/{doc['id']}/pdf", headers=clerk, timeout=30)
    assert pdf.status_code == 200
    issued = tmp_path / "issued.pdf"
    issued.write_bytes(pdf.content)
    # pdfsig asks the development CA's OCSP responder (the stack is up).
    out = subprocess.run(
        ["pdfsig", "-nssdir", nss_trust_db(root_pem, tmp_path / "nss"), str(issued)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    text = subprocess.run(["pdftotext", "-layout", str(issued), "-"], capture_output=True, text=True, check=True)
    lines = [line.strip() for line in text.stdout.splitlines()]
    # The letterhead (ô 2) is the committee's own name, wrapped as the layout chooses.
    header = " ".join(line.split("  ")[0] for line in lines[:3])
    assert " ".join(header.split()).startswith("ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ"), header
    for authority_line in ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Nguyễn Thành Long"):
        assert any(line.endswith(authority_line) for line in lines), authority_line
    # PAdES B-LT: the OCSP answers for the signer, the seal and the TSA are in the file.
    assert dss_counts(issued.read_bytes())[0] >= 3
    assert out.count("Signature Validation: Signature is Valid.") == 2
    assert out.count("Certificate Validation: Certificate is Trusted.") == 2
    # The signer's certificate names the person and unit the directory names; the seal, the issuer.
    assert "Signer Certificate Common Name: Nguyễn Thành Long" in out
    assert "Signer Certificate Common Name: Ủy ban nhân dân thành phố Cần Thơ" in out

    summary = subprocess.run(
        [
            str(PYHANKO_CLI),
            "sign",
            "validate",
            "--trust",
            str(root_pem),
            "--trust-replace",
            "--no-revocation-check",
            "--executive-summary",
            str(issued),
        ],
        capture_output=True,
        text=True,
    )
    assert summary.returncode == 0, summary.stdout + summary.stderr
    # One "field:digest:verdict" line per signature.
    assert sorted(line.split(":")[-1] for line in summary.stdout.split()) == ["VALID", "VALID"]
    details = subprocess.run(
        [
            str(PYHANKO_CLI),
            "sign",
            "validate",
            "--trust",
            str(root_pem),
            "--trust-replace",
            "--no-revocation-check",
            "--pretty-print",
            str(issued),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert details.count("This timestamp is backed by a time stamping authority.") == 2, details
    assert details.count("Signature timestamp token:") == 2

    report = verify_pdf(issued.read_bytes(), [root_pem.read_bytes()])
    assert not report.altered and len(report.signatures) == 2
    assert all(s.timestamp_present and s.trusted for s in report.signatures)


def test_a_revoked_signer_certificate_refuses_the_approval(stack: Stack) -> None:
    """A revoked signer cannot approve: the development CA's process answers OCSP; once the signer's
    development certificate is revoked there, approve is refused with a problem saying so and the
    document stays ``submitted``. Before the tests that switch le-xuan-hoa to client and remote
    signing: he signs with the service's key here, as the seed leaves him."""
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


def test_a_client_signer_with_a_dev_pki_certificate_signs_and_an_unknown_one_is_refused(
    stack: Stack, tmp_path: Path
) -> None:
    """Client-mode signing from the docs alone (docs/api.md, "Signing mode client"): ``directive-api
    dev-pki issue`` gives a person a key and a certificate from the development PKI, the administrator
    registers it, the signer approves and signs ``signed_attributes`` with Python ``cryptography`` — the
    letter is approved with the OCSP answer "good" embedded. A certificate the development CA answers
    "unknown" for (outside its records) is refused at approve with 409 ``signing-failed`` naming the
    status, and the document stays ``submitted``."""
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


def test_a_remote_signer_approves_through_the_local_csc_service(stack: Stack) -> None:
    """Remote signing: the local CSC API v2 service runs beside both services; a person enrolled there
    and switched to ``remote`` by the administrator approves with their PIN and one-time password, and
    the letter is issued with both signatures valid."""
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
