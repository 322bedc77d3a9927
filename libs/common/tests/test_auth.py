"""Bearer tokens: every malformed or mismatched token is a refusal (401), never an exception."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from common.auth import TokenVerifier
from common.problems import NotAuthenticatedError
from common.testing import TokenFactory


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(tokens: TokenFactory, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": tokens.auth.issuer,
        "aud": tokens.auth.audience,
        "sub": "tran-van-an",
        "name": "Trần Văn An",
        "roles": ["drafter"],
        "unit": "VPUB",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(tokens: TokenFactory, claims: dict[str, Any]) -> str:
    """Signed with the configured key: only the claims are wrong."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(tokens.private_key_pem, password=None)
    return jwt.encode(claims, key, algorithm="ES256")  # type: ignore[arg-type]


def _bad_tokens(tokens: TokenFactory) -> dict[str, str]:
    claims = _claims(tokens)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    header_rs256 = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    alg_number = _b64(json.dumps({"alg": 256}).encode())
    return {
        # The configured key is EC: PyJWT handed it to the RSA algorithm and raised TypeError.
        "RS256 against an EC key": jwt.encode(claims, rsa_key, algorithm="RS256"),
        "PS256 against an EC key": jwt.encode(claims, rsa_key, algorithm="PS256"),
        "EdDSA against an EC key": jwt.encode(claims, ed_key, algorithm="EdDSA"),
        "RS256 header, garbage signature": f"{header_rs256}.{payload}.{_b64(b'x' * 256)}",
        "header alg is a number": f"{alg_number}.{payload}.{_b64(b'x')}",
        "header is a list": f"{_b64(b'[1]')}.{payload}.{_b64(b'x')}",
        "header not JSON": f"{_b64(b'{')}.{payload}.{_b64(b'x')}",
        "two segments": f"{header_rs256}.{payload}",
        "not base64": "%%%.%%%.%%%",
        "empty": "",
        "exp is a string": _signed(tokens, _claims(tokens, exp="9999999999")),
        "exp is true": _signed(tokens, _claims(tokens, exp=True)),
        "exp is NaN": _signed(tokens, _claims(tokens, exp=float("nan"))),
        "exp is Infinity": _signed(tokens, _claims(tokens, exp=float("inf"))),
        "exp in ten years": _signed(tokens, _claims(tokens, exp=int(time.time()) + 10 * 365 * 86400)),
        "exp missing": _signed(tokens, _claims(tokens, exp=None)),
        "sub empty": _signed(tokens, _claims(tokens, sub="")),
        "sub blank": _signed(tokens, _claims(tokens, sub="   ")),
        "sub a number": _signed(tokens, _claims(tokens, sub=12345)),
        "sub too long": _signed(tokens, _claims(tokens, sub="a" * 65)),
        "name too long": _signed(tokens, _claims(tokens, name="Ă" * 201)),
        "name a list": _signed(tokens, _claims(tokens, name=["x"])),
        "roles a string": _signed(tokens, _claims(tokens, roles="admin")),
        "unit a number": _signed(tokens, _claims(tokens, unit=7)),
        "unit empty": _signed(tokens, _claims(tokens, unit="")),
    }


BAD = [
    "RS256 against an EC key",
    "PS256 against an EC key",
    "EdDSA against an EC key",
    "RS256 header, garbage signature",
    "header alg is a number",
    "header is a list",
    "header not JSON",
    "two segments",
    "not base64",
    "empty",
    "exp is a string",
    "exp is true",
    "exp is NaN",
    "exp is Infinity",
    "exp in ten years",
    "exp missing",
    "sub empty",
    "sub blank",
    "sub a number",
    "sub too long",
    "name too long",
    "name a list",
    "roles a string",
    "unit a number",
    "unit empty",
]


@pytest.fixture(scope="module")
def bad_tokens(token_factory: TokenFactory) -> dict[str, str]:
    return _bad_tokens(token_factory)


@pytest.mark.parametrize("name", BAD)
def test_bad_tokens_are_refused_with_not_authenticated(
    token_factory: TokenFactory, bad_tokens: dict[str, str], name: str
) -> None:
    verifier = TokenVerifier(token_factory.auth)
    with pytest.raises(NotAuthenticatedError):
        verifier.verify(bad_tokens[name])


def test_a_good_token_still_passes(token_factory: TokenFactory) -> None:
    verifier = TokenVerifier(token_factory.auth)
    principal = verifier.verify(_signed(token_factory, _claims(token_factory)))
    assert (principal.id, principal.name, principal.unit) == ("tran-van-an", "Trần Văn An", "VPUB")
    assert principal.roles == {"drafter"}
    # A token of a day's lifetime (the CLI mints 8 hours) is within the horizon.
    day = _claims(token_factory, exp=int(time.time()) + 23 * 3600)
    assert verifier.verify(_signed(token_factory, day)).id == "tran-van-an"


def test_every_bad_token_is_listed(bad_tokens: dict[str, str]) -> None:
    assert sorted(bad_tokens) == sorted(BAD)
