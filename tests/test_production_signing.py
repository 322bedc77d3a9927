"""Production signs with keys from Secrets, and refuses development keys.

The prod overlay's ConfigMap is rendered and its signing settings are given files where its Secrets
would be mounted (a root and a seal key of a non-development CA made here); the service starts and
finds its seal. The same settings pointing at the development PKI's root, or with the development
PKI switched on, make ``create_app`` and the relay refuse to start, naming what is wrong.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from test_deploy_wiring import container_env, rendered

from common.pdf.dev_pki import ensure_dev_pki
from common.production import UnsafeProductionSettingsError, enforce
from common.settings import AuthSettings, DatabaseSettings
from directive_api.main import create_app
from directive_api.orgs.models import Unit
from directive_api.pdfs.service import Keys
from directive_api.settings import Settings, production_problems

MOUNTS = {"/run/secrets/seals": "directive-api-seal-keys", "/etc/cantho/trust": "directive-api-trust-roots"}


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(x509.NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "Ban Cơ yếu Chính phủ (thử nghiệm)"),
            x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: Any, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer, hashes.SHA256())
    )


def secret_files(seals: Path, trust: Path) -> None:
    """What the operator puts in the two Secrets: a root, and the seal's PKCS#12, passphrase, image."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _certificate("Root CA (thử nghiệm)", root_key, "Root CA (thử nghiệm)", root_key, ca=True)
    seal_key = ec.generate_private_key(ec.SECP256R1())
    seal = _certificate("Văn phòng UBND thành phố Cần Thơ", seal_key, "Root CA (thử nghiệm)", root_key, ca=False)
    seals.mkdir(parents=True)
    trust.mkdir(parents=True)
    (trust / "root-ca.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    passphrase = b"correct horse battery staple"
    (seals / "vpub.pass").write_bytes(passphrase + b"\n")
    (seals / "vpub.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"vpub", seal_key, seal, [root], serialization.BestAvailableEncryption(passphrase)
        )
    )
    (seals / "vpub.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # only its path is checked here


def prod_environment(root: Path) -> dict[str, str]:
    """directive-api's environment in the prod overlay, Secret mounts moved under ``root``."""
    docs = rendered("prod")
    configs = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    deployment = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "directive-api")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    # The Secrets are mounted where the settings look for them.
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounted = {
        m["mountPath"]: volumes[m["name"]]["secret"]["secretName"]
        for m in container["volumeMounts"]
        if "secret" in volumes[m["name"]]
    }
    assert mounted == MOUNTS
    env = {
        k: v
        for k, v in container_env(container, configs).items()
        if k.startswith("DIRECTIVE_API_SIGNING__") or k == "ENVIRONMENT"
    }
    return {
        k: v.replace("/run/secrets/seals", str(root / "seals")).replace("/etc/cantho/trust", str(root / "trust"))
        for k, v in env.items()
    }


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings(
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}"),
        auth=AuthSettings(
            issuer="https://id.example.invalid",
            audience="tests",
            jwks_url="https://id.example.invalid/.well-known/jwks.json",
        ),
        public_base_url="https://vanban.cantho.example.invalid",
        files_dir=tmp_path / "files",
    )


def test_the_prod_overlay_seals_with_keys_from_its_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_files(tmp_path / "seals", tmp_path / "trust")
    env = prod_environment(tmp_path)
    assert env["ENVIRONMENT"] == "production"
    assert env["DIRECTIVE_API_SIGNING__USE_DEV_PKI"] == "false"
    settings = settings_from(env, monkeypatch, tmp_path)
    assert production_problems(settings) == []
    create_app(settings)  # starts
    keys = Keys.from_settings(settings.signing)
    assert keys.pki is None
    spec, image = asyncio.run(keys.seal(Unit(code="VPUB", name="Văn phòng UBND thành phố Cần Thơ")))
    assert spec.pkcs12 == str(tmp_path / "seals" / "vpub.p12") and spec.passphrase == b"correct horse battery staple"
    assert image == tmp_path / "seals" / "vpub.png"
    loaded = pkcs12.load_key_and_certificates(Path(spec.pkcs12).read_bytes(), spec.passphrase)
    assert loaded[1] is not None
    assert keys.trust_roots() == ((tmp_path / "trust" / "root-ca.pem").read_bytes(),)


def test_production_refuses_development_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_files(tmp_path / "seals", tmp_path / "trust")
    dev = ensure_dev_pki(tmp_path / "pki")
    shutil.copy(dev.root_cert_pem, tmp_path / "trust" / "root-ca.pem")  # the development root, renamed
    env = prod_environment(tmp_path)
    settings = settings_from(env, monkeypatch, tmp_path)
    assert production_problems(settings) == [
        f"DIRECTIVE_API_SIGNING__TRUST_ROOTS: {tmp_path / 'trust' / 'root-ca.pem'} is the development root"
    ]
    with pytest.raises(UnsafeProductionSettingsError, match=r"ENVIRONMENT=production.*\n.* is the development root"):
        create_app(settings)

    monkeypatch.setenv("DIRECTIVE_API_SIGNING__USE_DEV_PKI", "true")
    monkeypatch.setenv("DIRECTIVE_API_SIGNING__DEV_PKI_DIR", str(tmp_path / "pki"))
    monkeypatch.setenv(
        "DIRECTIVE_API_SIGNING__SEALS", json.dumps({"VPUB": {"pkcs12": str(dev.seal_p12), "image": str(dev.seal_png)}})
    )
    problems = production_problems(settings_from({}, monkeypatch, tmp_path))
    assert problems[0].startswith("DIRECTIVE_API_SIGNING__USE_DEV_PKI=true")
    assert f"DIRECTIVE_API_SIGNING__SEALS[VPUB]: a key of the development PKI ({dev.seal_p12})" in problems

    # Outside production nothing is refused: make run and the tests use the development PKI.
    monkeypatch.setenv("ENVIRONMENT", "development")
    enforce(problems)
