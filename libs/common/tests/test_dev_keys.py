"""Development token keys: created once, even when several processes start on a fresh machine at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization

from common.auth import ensure_dev_keys, mint_token

PROCESSES = 8


def _start(directory: str, barrier: multiprocessing.synchronize.Barrier, out: multiprocessing.queues.Queue) -> None:  # type: ignore[type-arg]
    barrier.wait()
    keys = ensure_dev_keys(Path(directory))
    out.put(keys.public_key_file.read_bytes())


def test_services_starting_together_create_one_key_pair(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    barrier, out = context.Barrier(PROCESSES), context.Queue()
    starters = [context.Process(target=_start, args=(str(tmp_path), barrier, out)) for _ in range(PROCESSES)]
    for process in starters:
        process.start()
    seen = {out.get(timeout=60) for _ in starters}
    for process in starters:
        process.join(timeout=60)
        assert process.exitcode == 0

    # Every process saw the same public key, and it is the private key's: tokens minted verify.
    keys = ensure_dev_keys(tmp_path)
    public = keys.public_key_file.read_bytes()
    assert seen == {public}
    token = mint_token(
        keys.private_key_file.read_bytes(),
        subject="an",
        roles=["drafter"],
        unit="VPUB",
        issuer="https://id.example.invalid",
        audience="tests",
    )
    claims = jwt.decode(
        token,
        key=serialization.load_pem_public_key(public),  # type: ignore[arg-type]
        algorithms=["ES256"],
        options={"verify_aud": False, "verify_iss": False},
    )
    assert claims["sub"] == "an"
    assert oct(keys.private_key_file.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "jwt-private.pem",
        "jwt-public.pem",
    ]
