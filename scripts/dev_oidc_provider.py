"""A development OpenID Connect provider: the local double of the identity provider.

It speaks the protocol the services use — discovery (``/.well-known/openid-configuration``), JWKS,
the authorization code flow with PKCE (S256 only) and a token endpoint with client-secret
authentication — and, instead of passwords, shows a sign-in page listing the seeded people: choose
one and you are signed in as them. ID and access tokens carry ``sub``, ``name``, ``roles`` and
``unit`` and are signed with an ES256 key (the development key pair when ``--keys`` is given, so the
access token also works as a bearer token of the APIs).

    python scripts/dev_oidc_provider.py --port 8090 --people people.json [--keys var/keys]
        [--access-issuer https://id.example --access-audience api]

Never for production: anyone who reaches it can sign in as anyone.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

CODE_TTL = 120
TOKEN_TTL = 3600


@dataclass
class Person:
    id: str
    name: str
    roles: list[str]
    unit: str | None
    title: str = ""


@dataclass
class Grant:
    person: Person
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    expires: float


@dataclass
class Provider:
    issuer: str
    key: ec.EllipticCurvePrivateKey
    people: list[Person]
    clients: dict[str, str]
    """client id → secret."""
    access_issuer: str
    access_audience: str
    """``iss``/``aud`` of the access tokens: the APIs' ``AUTH__ISSUER``/``AUTH__AUDIENCE``."""
    grants: dict[str, Grant] = field(default_factory=dict)
    kid: str = "dev-1"

    def jwk(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()

        def b64(value: int) -> str:
            return base64.urlsafe_b64encode(value.to_bytes(32, "big")).decode().rstrip("=")

        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64(numbers.x),
            "y": b64(numbers.y),
            "kid": self.kid,
            "use": "sig",
            "alg": "ES256",
        }

    def sign(self, claims: dict[str, Any]) -> str:
        pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return jwt.encode(claims, pem, algorithm="ES256", headers={"kid": self.kid})


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>{html.escape(title)}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:40rem;padding:1rem;color:#1b1b1b}}
h1{{font-size:1.4rem}}ul{{list-style:none;padding:0}}li{{margin:.4rem 0}}
button{{font:inherit;width:100%;text-align:left;padding:.6rem .8rem;border:1px solid #8a8a8a;
border-radius:.4rem;background:#fff;cursor:pointer}}
button:focus,button:hover{{outline:3px solid #1e5aa8;background:#eef4fb}}small{{color:#4a4a4a}}
.note{{background:#fff4d6;padding:.5rem .8rem;border-radius:.4rem}}</style></head>
<body><main>{body}</main></body></html>""",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action *",
        },
    )


def create_app(provider: Provider) -> FastAPI:
    app = FastAPI(title="dev OpenID Connect provider", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return {
            "issuer": provider.issuer,
            "authorization_endpoint": f"{provider.issuer}/authorize",
            "token_endpoint": f"{provider.issuer}/token",
            "jwks_uri": f"{provider.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "scopes_supported": ["openid", "profile"],
        }

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        return {"keys": [provider.jwk()]}

    def _check_request(client_id: str, redirect_uri: str, response_type: str, method: str, challenge: str) -> None:
        if client_id not in provider.clients:
            raise HTTPException(400, "unknown client_id")
        if response_type != "code" or method != "S256" or len(challenge) < 43:
            raise HTTPException(400, "only response_type=code with a S256 code_challenge")
        if not redirect_uri.startswith(("http://", "https://")):
            raise HTTPException(400, "invalid redirect_uri")

    @app.get("/authorize")
    async def authorize(
        client_id: str,
        redirect_uri: str,
        state: str,
        code_challenge: str,
        response_type: str = "code",
        code_challenge_method: str = "plain",
        nonce: str | None = None,
    ) -> HTMLResponse:
        _check_request(client_id, redirect_uri, response_type, code_challenge_method, code_challenge)
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
            for k, v in {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": code_challenge_method,
                "nonce": nonce or "",
            }.items()
        )
        items = "".join(
            f'<li><form method="post" action="/authorize">{hidden}'
            f'<button name="person" value="{html.escape(p.id)}">{html.escape(p.name)}'
            f"<br><small>{html.escape(p.title or ', '.join(p.roles))}"
            f"{' — ' + html.escape(p.unit) if p.unit else ''}</small></button></form></li>"
            for p in provider.people
        )
        return _page(
            "Đăng nhập (môi trường phát triển)",
            "<h1>Đăng nhập (môi trường phát triển)</h1>"
            '<p class="note">Nhà cung cấp định danh thử nghiệm: chọn người dùng để đăng nhập, không cần mật khẩu.</p>'
            f"<ul>{items}</ul>",
        )

    @app.post("/authorize")
    async def choose(
        client_id: Annotated[str, Form()],
        redirect_uri: Annotated[str, Form()],
        state: Annotated[str, Form()],
        code_challenge: Annotated[str, Form()],
        code_challenge_method: Annotated[str, Form()],
        person: Annotated[str, Form()],
        nonce: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        _check_request(client_id, redirect_uri, "code", code_challenge_method, code_challenge)
        chosen = next((p for p in provider.people if p.id == person), None)
        if chosen is None:
            raise HTTPException(400, "unknown person")
        code = secrets.token_urlsafe(32)
        provider.grants[code] = Grant(
            chosen, client_id, redirect_uri, code_challenge, nonce or None, time.time() + CODE_TTL
        )
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(
            f"{redirect_uri}{separator}{urlencode({'code': code, 'state': state})}", status_code=303
        )

    @app.post("/token")
    async def token(request: Request) -> JSONResponse:
        form = await request.form()
        values = {k: str(v) for k, v in form.items()}
        client_id, client_secret = values.get("client_id", ""), values.get("client_secret", "")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if provider.clients.get(client_id) != client_secret or not client_secret:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = provider.grants.pop(values.get("code", ""), None)
        if values.get("grant_type") != "authorization_code" or grant is None or grant.expires < time.time():
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = values.get("code_verifier", "")
        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        if (
            grant.client_id != client_id
            or grant.redirect_uri != values.get("redirect_uri")
            or computed != grant.challenge
        ):
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "PKCE or redirect_uri mismatch"}, status_code=400
            )
        now = int(time.time())
        person = grant.person
        claims = {
            "sub": person.id,
            "name": person.name,
            "roles": person.roles,
            "unit": person.unit,
            "iat": now,
            "exp": now + TOKEN_TTL,
        }
        id_token = provider.sign(
            {**claims, "iss": provider.issuer, "aud": client_id, **({"nonce": grant.nonce} if grant.nonce else {})}
        )
        access = provider.sign({**claims, "iss": provider.access_issuer, "aud": provider.access_audience})
        return JSONResponse(
            {"access_token": access, "token_type": "Bearer", "expires_in": TOKEN_TTL, "id_token": id_token},
            headers={"Cache-Control": "no-store"},
        )

    return app


def load_people(paths: list[Path]) -> list[Person]:
    """People files: directive-api's ``people.json`` shape, or ``{"id", "name", "roles", "unit"}`` items."""
    people: list[Person] = []
    for path in paths:
        for item in json.loads(path.read_text(encoding="utf-8")):
            people.append(
                Person(
                    id=item["id"],
                    name=item.get("full_name") or item["name"],
                    roles=list(item["roles"]),
                    unit=item.get("unit_code", item.get("unit")),
                    title=item.get("position") or "",
                )
            )
    return people


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--issuer", help="Public URL (default http://HOST:PORT)")
    parser.add_argument("--people", type=Path, action="append", required=True)
    parser.add_argument("--client", action="append", default=[], help="client_id:secret (repeatable)")
    parser.add_argument("--keys", type=Path, help="Folder with jwt-private.pem (the development key pair)")
    parser.add_argument("--access-issuer", help="iss of the access tokens (default: --issuer)")
    parser.add_argument("--access-audience", default="api", help="aud of the access tokens (the APIs' AUTH__AUDIENCE)")
    args = parser.parse_args(argv)
    if args.keys is not None:
        loaded = serialization.load_pem_private_key((args.keys / "jwt-private.pem").read_bytes(), password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        key = loaded
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    clients = dict(c.split(":", 1) for c in args.client) or {"report-api": "dev-secret"}
    issuer = (args.issuer or f"http://{args.host}:{args.port}").rstrip("/")
    provider = Provider(
        issuer=issuer,
        key=key,
        people=load_people(args.people),
        clients=clients,
        access_issuer=args.access_issuer or issuer,
        access_audience=args.access_audience,
    )
    uvicorn.run(create_app(provider), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
