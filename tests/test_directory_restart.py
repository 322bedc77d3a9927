"""A directory change made over REST survives a restart of both services: the start-up seed adds
nothing back and changes nothing (both services as real processes, as ``make run`` starts them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import run_local
from stack_testing import PDF_WORKERS, free_port

from common.auth import mint_token
from directive_api.settings import Settings

pytestmark = pytest.mark.slow  # real processes of both services (a whole stack)


def _admin(var: Path) -> dict[str, str]:
    settings = Settings()
    token = mint_token(
        (var / "keys" / "jwt-private.pem").read_bytes(),
        subject="quan-tri-vien",
        name="Quản trị viên",
        roles=["admin"],
        unit="VPUB",
        issuer=settings.auth.issuer,
        audience=settings.auth.audience,
    )
    return {"Authorization": f"Bearer {token}"}


def _directory(base: str, admin: dict[str, str]) -> dict[str, Any]:
    response = httpx.get(f"{base}/v1/directory/export", headers=admin, timeout=30)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_rest_changes_survive_a_restart_and_the_seed(tmp_path: Path) -> None:
    var = tmp_path / "var"
    ports = {"directive_port": free_port(), "report_port": free_port()}
    base = f"http://127.0.0.1:{ports['directive_port']}"
    processes = run_local.start(var, **ports, pdf_workers=PDF_WORKERS)
    try:
        admin = _admin(var)

        def send(method: str, path: str, **kwargs: Any) -> httpx.Response:
            response = httpx.request(method, f"{base}{path}", headers={**admin, **kwargs.pop("headers", {})}, **kwargs)
            assert response.status_code < 300, (method, path, response.text)
            return response

        send("PATCH", "/v1/orgs/UBND-TP", json={"short_name": "UBND TP Cần Thơ"}, headers={"If-Match": '"1"'})
        send("PATCH", "/v1/orgs/X31299", json={"is_active": False}, headers={"If-Match": '"1"'})
        send(
            "PATCH",
            "/v1/people/nguyen-thanh-long",
            json={"signature_title_lines": ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH THƯỜNG TRỰC"]},
            headers={"If-Match": '"1"'},
        )
        send("DELETE", "/v1/people/dang-minh-khoa", headers={"If-Match": '"1"'})
        send("PATCH", "/v1/org-groups/department", json={"name": "Các sở, ban, ngành"}, headers={"If-Match": '"1"'})
        send(
            "POST",
            "/v1/people",
            json={
                "id": "pham-van-tam",
                "full_name": "Phạm Văn Tâm",
                "unit_code": "UBND-TP",
                "position": "Phó Chủ tịch Ủy ban nhân dân thành phố",
                "roles": ["signer"],
                "signature_title_lines": ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"],
            },
        )
        before = _directory(base, admin)
        history = httpx.get(f"{base}/v1/directory/changes", headers=admin, timeout=10).json()
        assert len(history) == 6
    finally:
        run_local.stop(processes)

    processes = run_local.start(var, **ports, pdf_workers=PDF_WORKERS)  # serve migrates and seeds again on start
    try:
        after = _directory(base, admin)
        assert after == before
        assert not any(p["id"] == "dang-minh-khoa" for p in after["people"])
        assert next(u for u in after["units"] if u["code"] == "X31299")["is_active"] is False
        assert httpx.get(f"{base}/v1/directory/changes", headers=admin, timeout=10).json() == history
        ubnd = httpx.get(f"{base}/v1/orgs/UBND-TP", headers=admin, timeout=10)
        assert ubnd.headers["ETag"] == '"2"'
    finally:
        run_local.stop(processes)
