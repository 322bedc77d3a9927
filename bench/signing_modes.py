"""Approval PDF work in the ``client`` signing mode vs the ``server`` mode (same process, alternating).

Server approve: ``render_pdf`` → ``sign_as_signer`` with a key the server holds (the development
signer's PKCS#12). Client approve, as directive-api does it in its PDF workers: ``render_pdf`` →
``prepare_deferred`` (the revision, its digest and the CMS signed attributes), then — once the
token's signature is in — ``validate_certificate`` (chain, validity) → ``finish_deferred`` (the
signature value checked, the CMS built and embedded) → ``verify_pdf`` of the result. The token's own
signing (an RSA-2048 key in memory here) is excluded from the clock. Every side as on the embedded
default of ``make run``: the development TSA's timestamp and the validation data (OCSP answers for
the signer's and the TSA's certificates) fetched over HTTP from the development CA's own process
(scripts/dev_ca.py) and embedded (PAdES B-LT). Goal: client / server ≤ 1.5.

Remote approve: the same, with the signature made by the local CSC API v2 service
(scripts/csc_service.py, its own process, the key in SoftHSM2): credentials/list, credentials/info,
credentials/authorize (PIN, TOTP) and signatures/signHash over HTTP through pyHanko's CSC signer, as
directive-api does it. No goal is set for it in the issue; reported as a ratio to the server approve.
"""

from __future__ import annotations

import base64
import datetime as dt
import gc
import hashlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx
from asn1crypto.x509 import Certificate
from benchlib import Row, free_port, temp_dir
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from seedpdf import build_seed_view

from common.pdf import aio
from common.pdf.deferred import (
    PreparedSignature,
    finish_deferred,
    load_certificate,
    prepare_deferred,
    validate_certificate,
)
from common.pdf.dev_pki import DevPki, ensure_dev_pki
from common.pdf.ltv import RevocationSpec
from common.pdf.render import render_pdf
from common.pdf.signing import sign_as_signer
from common.pdf.verify import verify_pdf
from directive_api.signing import csc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from csc_service import totp

GOAL = 1.5
NAME = "Approve, client mode (prepare + embed + verify, token signing excluded) / server-key approve"
REMOTE_NAME = "Approve, remote mode through the local CSC API v2 service (HTTP, SoftHSM2) / server-key approve"
ROOT = Path(__file__).resolve().parents[1]
CLIENT_TOKEN = "bench-client"
PIN = "246810"


def _csc_service(folder: Path, pki: DevPki) -> tuple[subprocess.Popen[bytes], str, str]:
    """Start the local CSC service with one credential in a fresh SoftHSM2 token."""
    (folder / "tokens").mkdir(parents=True)
    config = folder / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(config)}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_pem = folder / "key.pem"
    key_pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    for args in (
        ["--init-token", "--free", "--label", "csc", "--so-pin", "11223344", "--pin", "13579"],
        ["--import", str(key_pem), "--token", "csc", "--label", "k", "--id", "01", "--pin", "13579"],
    ):
        subprocess.run(["softhsm2-util", *args], env=env, check=True, capture_output=True)
    key_pem.unlink()
    certificate = pki.certificate_for_key(key.public_key(), "Lê Xuân Hoa", "VPUB").decode()
    otp_secret = base64.b32encode(os.urandom(20)).decode().rstrip("=")
    settings = {
        "module": "/usr/lib/softhsm/libsofthsm2.so",
        "token_label": "csc",
        "user_pin": "13579",
        "clients": {CLIENT_TOKEN: ["c1"]},
        "credentials": {"c1": {"key_label": "k", "certificates": [certificate], "pin": PIN, "otp_secret": otp_secret}},
    }
    (folder / "csc.json").write_text(json.dumps(settings))
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts" / "csc_service.py"),
            "--config",
            str(folder / "csc.json"),
            "--port",
            str(port),
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {CLIENT_TOKEN}"}
    _started(
        process,
        lambda: httpx.post(f"{url}/csc/v2/credentials/list", json={}, headers=headers).status_code == 200,
        timeout=60,
        name="the CSC service",
    )
    return process, url, otp_secret


def _dev_ca(pki_dir: Path) -> subprocess.Popen[bytes]:
    """Start the development CA's CRL/OCSP service; it records its URL in the PKI folder."""
    port = free_port()
    command = [sys.executable, str(ROOT / "scripts" / "dev_ca.py"), "--pki", str(pki_dir), "--port", str(port)]
    process = subprocess.Popen(command)
    _started(
        process,
        lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200,
        timeout=90,
        name="the development CA",
    )
    return process


def _started(process: subprocess.Popen[bytes], ready: Callable[[], bool], *, timeout: float, name: str) -> None:
    """Poll ``ready`` until it holds; kill ``process`` if it exits or ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.2)


def _measure(rounds: int) -> tuple[list[float], list[float], list[float]]:
    view = build_seed_view()
    with temp_dir("bench-signing-") as folder:
        ensure_dev_pki(folder / "pki")
        ca_process = _dev_ca(folder / "pki")
        pki = ensure_dev_pki(folder / "pki")
        assert pki.revocation_url is not None
        revocation = RevocationSpec((pki.root_cert_pem.read_bytes(),))
        stamper = pki.timestamper()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certificate = load_certificate(pki.certificate_for_key(key.public_key(), "Lê Xuân Hoa", "VPUB"))
        root = load_certificate(pki.root_cert_pem.read_bytes())
        roots = [pki.root_cert_pem.read_bytes()]

        def server() -> float:
            started = time.perf_counter()
            rendered = render_pdf(view, for_signing=True)
            sign_as_signer(
                rendered,
                pki.load_signer(),
                signature_image=pki.signature_png,
                timestamper=stamper,
                revocation=revocation,
            )
            return time.perf_counter() - started

        def prepare(signer_certificate: Certificate) -> PreparedSignature:
            """The server's first half of a deferred signature: render and prepare the revision."""
            return prepare_deferred(
                render_pdf(view, for_signing=True),
                signer_certificate,
                signature_image=pki.signature_png,
                timestamped=True,
                revocation=revocation,
                timestamper=stamper,
            )

        def finish(prepared: PreparedSignature, signer_certificate: Certificate, signature: bytes) -> None:
            """The server's second half: check the certificate, embed the signature, verify the result."""
            validate_certificate(signer_certificate, [], [root], moment=dt.datetime.now(dt.UTC))
            signed = finish_deferred(prepared, signer_certificate, [], signature, timestamper=stamper)
            verify_pdf(signed, roots, max_bytes=len(signed))

        def client() -> float:
            started = time.perf_counter()
            prepared = prepare(certificate)
            elapsed = time.perf_counter() - started
            signature = key.sign(prepared.signed_attributes, padding.PKCS1v15(), hashes.SHA256())
            started = time.perf_counter()
            finish(prepared, certificate, signature)
            return elapsed + time.perf_counter() - started

        csc_process, csc_url, otp_secret = _csc_service(folder / "csc", pki)
        info = httpx.post(
            f"{csc_url}/csc/v2/credentials/info",
            json={"credentialID": "c1"},
            headers={"Authorization": f"Bearer {CLIENT_TOKEN}"},
        ).json()
        remote_cert = load_certificate(base64.b64decode(info["cert"]["certificates"][0]))
        remote_sha = hashlib.sha256(remote_cert.dump()).hexdigest()

        def remote() -> float:
            started = time.perf_counter()
            prepared = prepare(remote_cert)
            made = aio.run(
                csc.sign(
                    service_url=csc_url,
                    token=CLIENT_TOKEN,
                    certificate_sha256=remote_sha,
                    data=prepared.signed_attributes,
                    pin=PIN,
                    otp=totp(otp_secret, time.time()),
                )
            )
            finish(prepared, remote_cert, made.signature)
            return time.perf_counter() - started

        try:
            server()
            client()  # warm-up: fonts, templates, keys
            remote()
            gc.collect()
            gc.freeze()
            client_s: list[float] = []
            server_s: list[float] = []
            remote_s: list[float] = []
            for index in range(rounds):
                steps = [(client_s, client), (server_s, server), (remote_s, remote)]
                for times, step in steps if index % 2 == 0 else list(reversed(steps)):
                    times.append(step())
        finally:
            for process in (csc_process, ca_process):
                process.terminate()
                process.wait(timeout=10)
    return client_s, server_s, remote_s


def run(*, rounds: int) -> list[Row]:
    """All sides in one fresh spawned process, like directive-api's PDF workers."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        client_s, server_s, remote_s = pool.submit(_measure, rounds).result()
    client_mean, server_mean = statistics.fmean(client_s), statistics.fmean(server_s)
    remote_mean = statistics.fmean(remote_s)
    ratio = client_mean / server_mean
    return [
        Row(
            NAME,
            f"{client_mean * 1000:.0f} / {server_mean * 1000:.0f} ms per approval ({rounds} rounds)",
            f"{ratio:.2f}",
            f"≤ {GOAL}",
            ratio <= GOAL,
        ),
        Row(
            REMOTE_NAME,
            f"{remote_mean * 1000:.0f} / {server_mean * 1000:.0f} ms per approval ({rounds} rounds)",
            f"{remote_mean / server_mean:.2f}",
            "— (reported)",
            True,
        ),
    ]


if __name__ == "__main__":
    for row in run(rounds=4):
        print(row)
