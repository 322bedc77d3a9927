"""ENVIRONMENT=production: both services refuse to start on development keys, secrets, PKI or the
values of .env.example, and say which setting is wrong; a production configuration starts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from common.production import UnsafeProductionSettingsError
from common.settings import AuthSettings, DatabaseSettings
from directive_api.main import create_app as create_directive_app
from directive_api.settings import Settings as DirectiveSettings
from directive_api.settings import SigningSettings
from directive_api.settings import production_problems as directive_problems
from report_api.main import create_app as create_report_app
from report_api.settings import Settings as ReportSettings
from report_api.settings import production_problems as report_problems

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DIRECTIVE_API_", "REPORT_API_", "ENVIRONMENT"))}


def _env_example() -> dict[str, str]:
    text = (ROOT / ".env.example").read_text()
    return {m.group(1): m.group(2) for m in re.finditer(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, re.MULTILINE)}


def _compose_environment(values: dict[str, str]) -> dict[str, str]:
    """What docker-compose.yml adds for the two services from ``.env`` (the database URLs, built from
    the ``*_DB_PASSWORD`` variables of .env.example), interpolated as Compose does."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    environment: dict[str, str] = {}
    for service in ("directive-api", "report-api"):
        for key, value in services[service].get("environment", {}).items():
            environment[key] = re.sub(r"\$\{(\w+)(?::?[-?][^}]*)?\}", lambda m: values[m.group(1)], str(value))
    return environment


def _serve(service: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / service), "serve", "--port", "1"], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_embedded_defaults_are_refused_in_production_and_no_key_is_created(tmp_path: Path) -> None:
    env = {**_clean_environment(), "ENVIRONMENT": "production"}
    refused = _serve("directive-api", env, tmp_path)
    assert refused.returncode == 2
    assert "DIRECTIVE_API_SIGNING__USE_DEV_PKI=true" in refused.stderr
    assert "DIRECTIVE_API_AUTH__PUBLIC_KEY_FILE=var/keys/jwt-public.pem: missing" in refused.stderr
    assert "DIRECTIVE_API_PUBLIC_BASE_URL=http://127.0.0.1:8001" in refused.stderr
    report = _serve("report-api", env, tmp_path)
    assert report.returncode == 2 and "REPORT_API_AUTH__PUBLIC_KEY_FILE" in report.stderr
    assert not (tmp_path / "var").exists()  # neither development keys nor databases were made
    # The same defaults without ENVIRONMENT=production are the development setup (make run).
    assert directive_problems(DirectiveSettings()) and "ENVIRONMENT" not in os.environ


def test_the_values_of_env_example_are_refused_in_production(tmp_path: Path) -> None:
    keys = tmp_path / "keys"  # .env.example points at the compose stack's development key pair
    keys.mkdir()
    (keys / "jwt-public.pem").write_text("-----BEGIN PUBLIC KEY-----\n")
    (keys / "jwt-private.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    values = _env_example()
    # As the compose stack runs them: .env.example copied to .env, plus the compose file's environment.
    env = {**_clean_environment(), **values, **_compose_environment(values), "ENVIRONMENT": "production"}
    env["DIRECTIVE_API_AUTH__PUBLIC_KEY_FILE"] = env["REPORT_API_AUTH__PUBLIC_KEY_FILE"] = str(keys / "jwt-public.pem")
    directive = _serve("directive-api", env, tmp_path)
    assert directive.returncode == 2
    for setting in (
        "DIRECTIVE_API_DATABASE__URL: the development database password",
        "DIRECTIVE_API_INBOX_SECRETS: a development secret",
        "DIRECTIVE_API_SIGNING__USE_DEV_PKI=true",
        "DIRECTIVE_API_PUBLIC_BASE_URL=http://localhost:8001",
        "DIRECTIVE_API_AUTH__PUBLIC_KEY_FILE",
    ):
        assert setting in directive.stderr, (setting, directive.stderr)
    assert "a development key pair" in directive.stderr
    report = _serve("report-api", env, tmp_path)
    assert report.returncode == 2
    for setting in (
        "REPORT_API_DATABASE__URL: the development database password",
        "REPORT_API_WEBHOOK_SECRETS: a development secret",
        "REPORT_API_DIRECTIVE_API_INBOX_SECRET: a development secret",
    ):
        assert setting in report.stderr, (setting, report.stderr)


def _production_key(tmp_path: Path) -> Path:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    path = tmp_path / "idp" / "public.pem"
    path.parent.mkdir()
    path.write_bytes(public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def test_a_production_configuration_starts_and_a_development_pki_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    auth = AuthSettings(
        issuer="https://id.example.invalid", audience="tests", public_key_file=_production_key(tmp_path)
    )
    database = DatabaseSettings(url="postgresql+asyncpg://directive:Vt3-kx9q@db.internal:5432/directive")
    directive = DirectiveSettings(
        database=database,
        auth=auth,
        public_base_url="https://vanban.cantho.gov.vn",
        files_dir=tmp_path / "files",
        signing=SigningSettings(use_dev_pki=False, dev_pki_dir=None),
        inbox_secrets=[SecretStr("whsec_" + "q" * 40)],
    )
    assert directive_problems(directive) == []
    create_directive_app(directive)
    report = ReportSettings(database=database, auth=auth, webhook_secrets="whsec_" + "r" * 40)
    assert report_problems(report) == []
    create_report_app(report)

    with pytest.raises(UnsafeProductionSettingsError) as refused:
        create_directive_app(directive.model_copy(update={"signing": SigningSettings(dev_pki_dir=tmp_path / "pki")}))
    assert refused.value.problems == [
        "DIRECTIVE_API_SIGNING__USE_DEV_PKI=true: the development PKI signs and seals; set it to false and give "
        "SIGNING__SIGNERS, SIGNING__SEALS and SIGNING__TRUST_ROOTS"
    ]
    assert not (tmp_path / "pki").exists()
