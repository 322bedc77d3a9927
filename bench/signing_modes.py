"""Approval PDF work in the ``client`` signing mode vs the ``server`` mode (same process, alternating).

Server approve: ``render_pdf`` → ``sign_as_signer`` with a key the server holds (the development
signer's PKCS#12). Client approve, as directive-api does it in its PDF workers: ``render_pdf`` →
``prepare_deferred`` (the revision, its digest and the CMS signed attributes), then — once the
token's signature is in — ``validate_certificate`` (chain, validity) → ``finish_deferred`` (the
signature value checked, the CMS built and embedded) → ``verify_pdf`` of the result. The token's own
signing (an RSA-2048 key in memory here) is excluded from the clock. Both sides with the
development TSA's timestamp (B-T), as on the embedded default. Goal: client / server ≤ 1.5.

Not measured: the remote (CSC) mode, which is not available yet.
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

from benchlib import Row, temp_dir
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from seedpdf import build_seed_view

from common.pdf.deferred import finish_deferred, load_certificate, prepare_deferred, validate_certificate
from common.pdf.dev_pki import ensure_dev_pki
from common.pdf.render import render_pdf
from common.pdf.signing import sign_as_signer
from common.pdf.verify import verify_pdf

GOAL = 1.5
NAME = "Approve, client mode (prepare + embed + verify, token signing excluded) / server-key approve"


def _measure(rounds: int) -> tuple[list[float], list[float]]:
    view = build_seed_view()
    with temp_dir("bench-signing-") as folder:
        pki = ensure_dev_pki(folder / "pki")
        stamper = pki.timestamper()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certificate = load_certificate(pki.certificate_for_key(key.public_key(), "Lê Xuân Hoa", "VPUB"))
        root = load_certificate(pki.root_cert_pem.read_bytes())
        roots = [pki.root_cert_pem.read_bytes()]

        def server() -> float:
            started = time.perf_counter()
            rendered = render_pdf(view, for_signing=True)
            sign_as_signer(rendered, pki.load_signer(), signature_image=pki.signature_png, timestamper=stamper)
            return time.perf_counter() - started

        def client() -> float:
            started = time.perf_counter()
            rendered = render_pdf(view, for_signing=True)
            prepared = prepare_deferred(rendered, certificate, signature_image=pki.signature_png, timestamped=True)
            elapsed = time.perf_counter() - started
            signature = key.sign(prepared.signed_attributes, padding.PKCS1v15(), hashes.SHA256())
            started = time.perf_counter()
            validate_certificate(certificate, [], [root], moment=dt.datetime.now(dt.UTC))
            signed = finish_deferred(prepared, certificate, [], signature, timestamper=stamper)
            verify_pdf(signed, roots, max_bytes=len(signed))
            return elapsed + time.perf_counter() - started

        server()
        client()  # warm-up: fonts, templates, keys
        gc.collect()
        gc.freeze()
        client_s: list[float] = []
        server_s: list[float] = []
        for index in range(rounds):
            if index % 2 == 0:
                client_s.append(client())
                server_s.append(server())
            else:
                server_s.append(server())
                client_s.append(client())
    return client_s, server_s


def run(*, rounds: int) -> Row:
    """Both sides in one fresh spawned process, like directive-api's PDF workers."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        client_s, server_s = pool.submit(_measure, rounds).result()
    client_mean, server_mean = statistics.fmean(client_s), statistics.fmean(server_s)
    ratio = client_mean / server_mean
    return Row(
        NAME,
        f"{client_mean * 1000:.0f} / {server_mean * 1000:.0f} ms per approval ({rounds} rounds)",
        f"{ratio:.2f}",
        f"≤ {GOAL}",
        ratio <= GOAL,
    )


if __name__ == "__main__":
    print(run(rounds=4))
