"""Signing with a key on a PKCS#11 token (SoftHSM2), imported with softhsm2-util and pkcs11-tool."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pkcs11
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from common.pdf.dev_pki import DevPki
from common.pdf.fields import FIELD_SIGNATURE
from common.pdf.model import DocumentView
from common.pdf.render import render_pdf
from common.pdf.signing import SigningError, clear_signer_cache, load_pkcs11_signer, sign_as_signer
from common.pdf.verify import verify_pdf

SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN = "common-pdf-test"
USER_PIN = "246810"
SO_PIN = "13579111"


@pytest.fixture(scope="module")
def softhsm_token(dev_pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    assert SOFTHSM_MODULE.exists(), "install the Debian package softhsm2"
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    config = root / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(config)}
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(config)  # read by the module when pyHanko initialises it

    key, cert, _ = pkcs12.load_key_and_certificates(dev_pki.signer_p12.read_bytes(), dev_pki.passphrase)
    assert key is not None and cert is not None
    key_pem = root / "signer-key.pem"
    key_pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_der = root / "signer-cert.der"
    cert_der.write_bytes(cert.public_bytes(serialization.Encoding.DER))

    def run(*args: str) -> None:
        subprocess.run(args, env=env, check=True, capture_output=True)

    run("softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--so-pin", SO_PIN, "--pin", USER_PIN)
    run(
        "softhsm2-util",
        "--import",
        str(key_pem),
        "--token",
        TOKEN,
        "--label",
        "signer",
        "--id",
        "01",
        "--pin",
        USER_PIN,
    )
    run(
        "pkcs11-tool",
        "--module",
        str(SOFTHSM_MODULE),
        "--token-label",
        TOKEN,
        "--login",
        "--pin",
        USER_PIN,
        "--write-object",
        str(cert_der),
        "--type",
        "cert",
        "--label",
        "signer",
        "--id",
        "01",
    )
    key_pem.unlink()
    # The module is loaded once per process and reads SOFTHSM2_CONF when initialised: an earlier test
    # of this worker (another token folder) may have initialised it already, so it must read this
    # folder afresh (found when the suite ran in parallel workers).
    clear_signer_cache()
    pkcs11.lib(str(SOFTHSM_MODULE)).reinitialize()
    yield config
    clear_signer_cache()
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


def test_pkcs11_key_signs_and_validates(
    softhsm_token: Path, dev_pki: DevPki, seed_view: Callable[..., DocumentView]
) -> None:
    root = dev_pki.root_certificate()
    signer = load_pkcs11_signer(
        SOFTHSM_MODULE, token_label=TOKEN, user_pin=USER_PIN, key_label="signer", ca_chain=(root,)
    )
    assert (
        load_pkcs11_signer(SOFTHSM_MODULE, token_label=TOKEN, user_pin=USER_PIN, key_label="signer", ca_chain=(root,))
        is signer
    )  # the session is cached
    assert signer.signing_cert.subject.native["common_name"] == "Nguyễn Văn A"

    signed = sign_as_signer(render_pdf(seed_view(), for_signing=True), signer, signature_image=dev_pki.signature_png)
    report = verify_pdf(signed, [root])
    (sig,) = report.signatures
    assert sig.field_name == FIELD_SIGNATURE and sig.signer_common_name == "Nguyễn Văn A"
    assert sig.intact and sig.valid and sig.trusted and not report.altered


def test_pkcs11_errors_are_clean(softhsm_token: Path) -> None:
    with pytest.raises(SigningError, match="token"):
        load_pkcs11_signer(SOFTHSM_MODULE, token_label="no-such-token", user_pin=USER_PIN, key_label="signer")
    with pytest.raises(SigningError, match="not found"):
        load_pkcs11_signer(SOFTHSM_MODULE, token_label=TOKEN, user_pin=USER_PIN, key_label="nobody")
