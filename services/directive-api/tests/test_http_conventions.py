"""Authentication, idempotent creation, the directory, and the OpenAPI description."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from directive_testing import Actors, Api

from common.testing import TokenFactory
from directive_api.directives.lifecycle import DIRECTIVE_WORKFLOW, INTERNAL_TRANSITIONS


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _hs256_with(secret: bytes, claims: dict[str, Any]) -> str:
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def _forged_tokens(tokens: TokenFactory) -> dict[str, str]:
    now = int(time.time())
    claims = {
        "iss": tokens.auth.issuer,
        "aud": tokens.auth.audience,
        "sub": "tran-van-an",
        "roles": ["drafter"],
        "unit": "VPUB",
        "iat": now,
        "exp": now + 600,
    }
    other_key = ec.generate_private_key(ec.SECP256R1())
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "wrong key": jwt.encode(claims, other_key, algorithm="ES256"),
        "HS256 with the public key": _hs256_with(tokens.public_key_pem.encode(), claims),
        "expired": tokens("tran-van-an", ["drafter"], "VPUB", ttl_seconds=-120),
        "wrong audience": tokens("tran-van-an", ["drafter"], "VPUB", aud="someone-else"),
        "wrong issuer": tokens("tran-van-an", ["drafter"], "VPUB", iss="https://evil.example"),
        "garbage": "not.a.token",
    }


@pytest.mark.parametrize(
    "name",
    ["alg none", "wrong key", "HS256 with the public key", "expired", "wrong audience", "wrong issuer", "garbage"],
)
async def test_forged_tokens_are_401(api: Api, token_factory: TokenFactory, letter: dict[str, Any], name: str) -> None:
    token = _forged_tokens(token_factory)[name]
    response = await api.client.post("/v1/directives", json=letter, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_every_v1_route_needs_a_token(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    checked = 0
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        concrete = path.replace("{directive_id}", "00000000-0000-0000-0000-000000000000")
        concrete = concrete.replace("{year}", "2026").replace("{", "").replace("}", "")
        for method in operations:
            response = await api.client.request(method.upper(), concrete)
            assert response.status_code == 401, (method, path, response.status_code)
            checked += 1
    assert checked >= 15


def _mismatched_tokens(tokens: TokenFactory) -> dict[str, str]:
    """Tokens whose header names an algorithm the configured (EC) key cannot verify, or whose claims
    are out of bounds: each answered 500 with a traceback before."""
    now = int(time.time())
    claims = {"iss": tokens.auth.issuer, "aud": tokens.auth.audience, "sub": "x", "roles": ["admin"], "iat": now}
    claims["exp"] = now + 600
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "RS256 against the EC key": jwt.encode(claims, rsa_key, algorithm="RS256"),
        "exp in ten years": tokens("x", ["admin"], "VPUB", ttl_seconds=10 * 365 * 86400),
        "empty sub": tokens("", ["admin"], "VPUB"),
    }


async def test_mismatched_tokens_are_401_on_every_route(api: Api, token_factory: TokenFactory) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    tokens = _mismatched_tokens(token_factory)
    checked = 0
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1/") or path == "/v1/inbox/events":
            continue
        concrete = path.replace("{directive_id}", "00000000-0000-0000-0000-000000000000")
        concrete = concrete.replace("{year}", "2026").replace("{", "").replace("}", "")
        for method in operations:
            for name, token in tokens.items():
                response = await api.client.request(
                    method.upper(), concrete, headers={"Authorization": f"Bearer {token}"}
                )
                assert response.status_code == 401, (name, method, path, response.status_code, response.text[:200])
                assert response.headers["content-type"] == "application/problem+json"
                checked += 1
    assert checked >= 45


async def test_idempotency_key_replays_creation(api: Api, actors: Actors, letter: dict[str, Any]) -> None:
    headers = {**actors.drafter, "Idempotency-Key": "seed-letter-1"}
    first = await api.client.post("/v1/directives", json=letter, headers=headers)
    second = await api.client.post("/v1/directives", json=letter, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    listing = (await api.client.get("/v1/directives", headers=actors.drafter)).json()
    assert len(listing["items"]) == 1
    different = await api.client.post("/v1/directives", json={**letter, "subject": "khác"}, headers=headers)
    assert different.status_code == 422
    assert different.json()["type"].endswith("/idempotency-key-mismatch")


async def test_directory_expands_groups(api: Api, actors: Actors) -> None:
    groups = (await api.client.get("/v1/org-groups", headers=actors.drafter)).json()
    assert {g["code"]: g["name"] for g in groups}["commune_level"] == "Ủy ban nhân dân xã, phường"
    communes = (await api.client.get("/v1/org-groups/commune_level", headers=actors.drafter)).json()
    assert len(communes["units"]) == 103
    assert sum(u["kind"] == "ward" for u in communes["units"]) == 31
    departments = (await api.client.get("/v1/orgs?group=department", headers=actors.drafter)).json()
    assert len(departments) == 13
    found = (await api.client.get("/v1/orgs", params={"q": "Phong Điền"}, headers=actors.drafter)).json()
    assert [u["code"] for u in found] == ["X31299"]
    assert (await api.client.get("/v1/orgs/KHONG-CO", headers=actors.drafter)).status_code == 404
    signer = (await api.client.get("/v1/people/le-xuan-hoa", headers=actors.drafter)).json()
    assert signer["signature_title_lines"] == ["KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG"]
    signers = (await api.client.get("/v1/people", params={"role": "signer"}, headers=actors.drafter)).json()
    assert {p["id"] for p in signers} == {"le-xuan-hoa", "nguyen-trong-son", "truong-canh-tuyen", "nguyen-thanh-long"}


async def test_openapi_describes_every_endpoint_with_errors(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    operations = [(p, m, op) for p, ops in spec["paths"].items() for m, op in ops.items() if p.startswith("/v1/")]
    assert len(operations) >= 15
    for path, method, operation in operations:
        assert operation.get("description") or operation.get("summary"), (method, path)
        responses = operation["responses"]
        assert "401" in responses, (method, path)
        assert "application/problem+json" in responses["401"]["content"], (method, path)
        if method in ("post", "patch") and "{directive_id}" in path:
            assert {"403", "404", "412"} <= set(responses), (method, path, sorted(responses))
    actions = {p.rsplit("/", 1)[1] for p in spec["paths"] if p.startswith("/v1/directives/{directive_id}/")}
    # Transitions the service fires itself (approve of a token signer, a signing request, a timer) have no route.
    assert set(DIRECTIVE_WORKFLOW.transitions) - INTERNAL_TRANSITIONS <= actions
    assert not INTERNAL_TRANSITIONS & actions
    assert {"submit", "review", "return", "approve", "issue", "dispatch", "archive", "recall", "replace"} <= actions
    docs = await api.client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_readiness_checks_the_schema_is_at_head(api: Api, app: Any) -> None:
    from sqlalchemy import text

    assert (await api.client.get("/readyz")).json() == {"status": "ready"}
    async with app.state.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    stale = await api.client.get("/readyz")
    assert stale.status_code == 503
    assert stale.json()["type"].endswith("/migrations-pending")
    assert stale.headers["retry-after"] == "10"
    assert (await api.client.get("/healthz")).status_code == 200  # alive, just not ready


async def test_a_document_read_on_postgresql_is_one_statement_without_begin_or_rollback(
    api: Api, actors: Actors, letter: dict[str, Any], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GET /v1/directives/{id} reads in autocommit on PostgreSQL (one round trip); writes keep their transaction."""
    import asyncpg

    if not database_url.startswith("postgresql"):
        doc = await api.create(letter)
        assert (await api.get(doc["id"], actors.monitor)).status_code == 200  # SQLite: its own BEGIN IMMEDIATE
        return
    sent: list[str] = []
    execute = asyncpg.Connection.execute

    async def recording(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(query.split()[0].rstrip(";").upper())
        return await execute(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "execute", recording)
    doc = await api.create(letter)
    assert "BEGIN" in sent and "COMMIT" in sent  # the write had its transaction (and the spy sees it)
    sent.clear()
    response = await api.get(doc["id"], actors.monitor)
    assert response.status_code == 200 and response.json()["id"] == doc["id"]
    assert sent == []
