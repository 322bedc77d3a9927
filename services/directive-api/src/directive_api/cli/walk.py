"""Walk the seed letter from draft to issued through the REST API, printing each step."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, TextIO

import httpx

from common.auth import ensure_dev_keys, mint_token
from directive_api.seed.loader import read_json, seed_letter
from directive_api.settings import Settings


def tokens(keys_dir: Path, settings: Settings | None = None) -> dict[str, str]:
    """Development tokens for the seed people, by person id."""
    settings = settings or Settings()
    private = ensure_dev_keys(keys_dir).private_key_file.read_bytes()
    return {
        p["id"]: mint_token(
            private,
            subject=p["id"],
            name=p["full_name"],
            roles=p["roles"],
            unit=p["unit_code"],
            issuer=settings.auth.issuer,
            audience=settings.auth.audience,
        )
        for p in read_json("people.json")
    }


class _Refused(Exception):
    """A step answered 4xx/5xx: said on ``out`` already."""


def walk_seed_letter(base_url: str, keys_dir: Path, *, out: TextIO) -> int:
    """Create, submit, return, edit, resubmit, approve and issue the seed letter; 0 on success, 1
    when a step is refused (the step and the problem are written to ``out``)."""
    try:
        return _walk(base_url, keys_dir, out)
    except _Refused:
        return 1


def _walk(base_url: str, keys_dir: Path, out: TextIO) -> int:
    token = tokens(keys_dir)

    def call(method: str, path: str, who: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token[who]}", **kwargs.pop("headers", {})}
        response = client.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 400:
            out.write(f"  ✗ {method} {path} → {response.status_code} {response.text}\n")
            raise _Refused
        return response

    # Issuing renders and signs the PDF: seconds on a quiet machine, minutes on a loaded one (a CI
    # host running four test workers timed out at 30 s once).
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(30, read=300)) as client:
        letter = seed_letter()
        created = call(
            "POST",
            "/v1/directives",
            "tran-van-an",
            json=letter,
            headers={"Idempotency-Key": str(uuid.uuid4())},
        ).json()
        doc = created["id"]
        out.write(f"1. drafted by Trần Văn An: {created['number_line']} — V/v {created['subject'][:60]}…\n")
        steps: list[tuple[str, str, dict[str, Any] | None, str]] = [
            ("submit", "tran-van-an", None, "submitted by the drafter"),
            (
                "return",
                "pham-thi-binh",
                {"comment": "Bổ sung thời hạn báo cáo kết quả."},
                "returned by the reviewer",
            ),
        ]
        etag = f'"{created["version"]}"'
        for action, who, body, text in steps:
            result = call("POST", f"/v1/directives/{doc}/{action}", who, json=body, headers={"If-Match": etag}).json()
            etag = f'"{result["version"]}"'
            out.write(f"{len(steps) and ''}→ {text}: status {result['status']}, version {result['version']}\n")
        compliance = dict(letter["compliance"])
        compliance["deadline_working_days"] = 10
        edited = call(
            "PATCH",
            f"/v1/directives/{doc}",
            "tran-van-an",
            json={"compliance": compliance},
            headers={"If-Match": etag},
        ).json()
        etag = f'"{edited["version"]}"'
        out.write(f"→ edited by the drafter with If-Match: version {edited['version']}\n")
        for action, who, text in [
            ("submit", "tran-van-an", "resubmitted by the drafter"),
            ("approve", "le-xuan-hoa", "approved by Lê Xuân Hoa (KT. CHÁNH VĂN PHÒNG / PHÓ CHÁNH VĂN PHÒNG)"),
            ("issue", "vo-thi-thu", "issued by the clerk"),
        ]:
            result = call("POST", f"/v1/directives/{doc}/{action}", who, headers={"If-Match": etag}).json()
            etag = f'"{result["version"]}"'
            out.write(f"→ {text}: status {result['status']}\n")
        out.write(f"✓ {result['number_line']} — {result['place_date_line']} (id {doc})\n")
        history = call("GET", f"/v1/directives/{doc}/history", "dang-minh-khoa").json()
        out.write("history: " + " → ".join(h["action"] for h in history) + "\n")
    return 0
