"""The operators' command line: directory maintenance, tokens, PDF verification, invariants."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "directive-api"), *args], env=env, capture_output=True, text=True, timeout=120)


def test_directory_tokens_and_checks(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DIRECTIVE_API_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
        "DIRECTIVE_API_FILES_DIR": str(tmp_path / "files"),
        "DIRECTIVE_API_SIGNING__DEV_PKI_DIR": str(tmp_path / "pki"),
        "COLUMNS": "200",
    }
    # The start-up job: migrate and seed, again and again (idempotent); `seed` alone does the same.
    for _ in range(2):
        started = _cli(env, "migrate")
        assert started.returncode == 0, started.stderr
        assert "seeded {'groups': " in started.stdout, started.stdout
    assert _cli(env, "seed").returncode == 0
    added = _cli(
        env,
        "add-unit",
        "X99999",
        "--name",
        "Ủy ban nhân dân xã Thử Nghiệm",
        "--kind",
        "commune",
        "--group",
        "commune_level",
    )
    assert added.returncode == 0, added.stderr
    bad_group = _cli(env, "add-unit", "X99998", "--name", "x", "--kind", "commune", "--group", "nope")
    assert bad_group.returncode == 2
    person = _cli(
        env, "add-person", "tran-thi-c", "--name", "Trần Thị C", "--unit", "VPUB", "--position", "Phó Chánh Văn phòng",
        "--roles", "signer", "--signature-lines", "KT. CHÁNH VĂN PHÒNG|PHÓ CHÁNH VĂN PHÒNG",
    )  # fmt: skip
    assert person.returncode == 0, person.stderr
    exported = tmp_path / "directory.json"
    assert _cli(env, "export-directory", str(exported)).returncode == 0
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert {u["code"] for u in data["units"]} >= {"X99999", "VPUB", "X31299"}
    assert next(p for p in data["people"] if p["id"] == "tran-thi-c")["signature_title_lines"] == [
        "KT. CHÁNH VĂN PHÒNG",
        "PHÓ CHÁNH VĂN PHÒNG",
    ]
    token = _cli(
        env,
        "mint-token",
        "tran-thi-c",
        "--roles",
        "signer",
        "--unit",
        "VPUB",
        "--keys",
        str(tmp_path / "keys"),
        "--create-keys",
    )
    assert token.returncode == 0
    assert token.stdout.count(".") == 2
    checked = _cli(env, "check-invariants")
    assert checked.returncode == 0, checked.stdout
    not_pdf = tmp_path / "x.pdf"
    not_pdf.write_bytes(b"not a pdf")
    assert _cli(env, "verify-pdf", str(not_pdf)).returncode == 2
    audit = _cli(env, "verify-audit")
    assert audit.returncode == 0
    assert "the chain is intact" in audit.stdout


def test_the_directory_goes_out_and_comes_back_on_the_command_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DIRECTIVE_API_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
        "DIRECTIVE_API_FILES_DIR": str(tmp_path / "files"),
        "DIRECTIVE_API_SIGNING__DEV_PKI_DIR": str(tmp_path / "pki"),
        "COLUMNS": "200",
    }
    assert _cli(env, "migrate").returncode == 0
    assert _cli(env, "seed").returncode == 0
    units_csv = tmp_path / "units.csv"
    exported = _cli(env, "export-directory", str(units_csv), "--format", "csv", "--kind", "units")
    assert exported.returncode == 0, exported.stdout + exported.stderr
    lines = units_csv.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    assert header[0] == "code" and "notation" in header
    ubnd = next(line for line in lines if line.startswith("UBND-TP,"))
    edited = tmp_path / "edited.csv"
    edited.write_text(lines[0] + "\n" + ubnd.replace("UBND thành phố", "UBND TP Cần Thơ") + "\n", encoding="utf-8")
    imported = _cli(env, "import-directory", str(edited), "--kind", "units")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "0 created, 1 updated, 0 unchanged" in imported.stdout
    # Unchanged on a second import; and a seed afterwards leaves the change alone.
    assert "0 created, 0 updated, 1 unchanged" in _cli(env, "import-directory", str(edited), "--kind", "units").stdout
    assert _cli(env, "seed").returncode == 0
    whole = tmp_path / "directory.json"
    assert _cli(env, "export-directory", str(whole)).returncode == 0
    data = json.loads(whole.read_text(encoding="utf-8"))
    assert next(u for u in data["units"] if u["code"] == "UBND-TP")["short_name"] == "UBND TP Cần Thơ"
    assert {"groups", "units", "people"} <= set(data)
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"people": [{"id": "x", "full_name": "X", "unit_code": "NOPE", "position": "x", "roles": []}]})
    )
    refused = _cli(env, "import-directory", str(bad))
    assert refused.returncode == 2 and "unknown unit NOPE" in refused.stdout
    wrong_role = _cli(env, "add-person", "y", "--name", "Y", "--unit", "VPUB", "--position", "x", "--roles", "boss")
    assert wrong_role.returncode == 2
