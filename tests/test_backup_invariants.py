"""Backup → restore into a fresh database → the invariant checker passes on the copy, and catches damage."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.settings import DatabaseSettings
from common.testing import PostgresServer, TokenFactory, unique_name
from directive_api.cli import migrate, seed
from directive_api.main import create_app
from directive_api.seed.loader import read_json, seed_letter
from directive_api.settings import Settings, SigningSettings

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


pytestmark = pytest.mark.slow  # real processes of both services (a whole stack)


async def _scenario(url: str, files: Path, pki: Path, tokens: TokenFactory) -> None:
    people = {p["id"]: p for p in read_json("people.json")}

    def who(person: str) -> dict[str, str]:
        return tokens.headers(person, people[person]["roles"], people[person]["unit_code"])

    settings = Settings(
        database=DatabaseSettings(url=url), auth=tokens.auth, files_dir=files, signing=SigningSettings(dev_pki_dir=pki)
    )
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        for _ in range(2):
            doc: dict[str, Any] = (
                await client.post("/v1/directives", json=seed_letter(), headers=who("tran-van-an"))
            ).json()
            for action, person in [
                ("submit", "tran-van-an"),
                ("approve", "le-xuan-hoa"),
                ("issue", "vo-thi-thu"),
                ("dispatch", "vo-thi-thu"),
            ]:
                response = await client.post(
                    f"/v1/directives/{doc['id']}/{action}", headers={**who(person), "If-Match": doc["etag"]}
                )
                assert response.status_code == 200, response.text
                doc = response.json()
    await app.state.engine.dispose()


def _check(url: str, files: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIRECTIVE_API_DATABASE__URL": url, "DIRECTIVE_API_FILES_DIR": str(files), "COLUMNS": "200"}
    return subprocess.run([str(BIN / "directive-api"), "check-invariants"], env=env, capture_output=True, text=True)


async def test_restored_copy_passes_the_invariant_checker(
    postgres_server: PostgresServer, token_factory: TokenFactory, tmp_path: Path
) -> None:
    source_name, target_name = unique_name("inv_src"), unique_name("inv_dst")
    source = postgres_server.create_database(source_name)
    target = postgres_server.url_for(target_name)
    files = tmp_path / "files"
    try:
        migrate(source)
        await seed(source)
        await _scenario(source, files, tmp_path / "pki", token_factory)
        backup = tmp_path / "directive.dump"
        subprocess.run([sys.executable, str(ROOT / "scripts/backup"), source, str(backup)], check=True)
        subprocess.run([sys.executable, str(ROOT / "scripts/restore"), "--create", str(backup), target], check=True)

        result = _check(target, files)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "all invariants hold" in result.stdout
        assert "checked 2 documents" in result.stdout
        assert "checked 1 registers" in result.stdout

        # Damage one stored PDF: the checker names it.
        victim = next(p for p in files.rglob("*") if p.is_file() and not p.name.startswith("."))
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0xFF
        victim.write_bytes(bytes(data))
        damaged = _check(target, files)
        assert damaged.returncode == 1
        assert f"{victim.name}" in damaged.stdout
        assert "does not match its hash" in damaged.stdout
    finally:
        postgres_server.drop_database(source_name)
        postgres_server.drop_database(target_name)
