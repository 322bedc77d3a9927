"""Any issuer out of the box: on a fresh embedded stack (what ``make run`` starts), a letter of the City
People's Committee is drafted, approved by its seeded Phó Chủ tịch under three authority lines, and
issued with both signatures valid and timestamped, checked by pdfsig, the pyhanko CLI and pdftotext."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import run_local
from stack_testing import office_stack

from common.pdf.ltv import dss_counts
from common.pdf.verify import verify_pdf
from common.testing import nss_trust_db
from directive_api.seed.loader import seed_letter

PYHANKO_CLI = Path(sys.executable).parent / "pyhanko"


pytestmark = pytest.mark.slow  # real processes of both services (a whole stack)


def test_a_city_committee_letter_is_issued_on_a_fresh_stack(tmp_path: Path) -> None:
    with office_stack(tmp_path) as stack:
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
        # The development CA (started first) stays up for pdfsig, which asks its OCSP responder.
        run_local.stop(stack.processes[1:])
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
