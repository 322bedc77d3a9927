"""The OpenID Connect authorization code flow with PKCE, as a relying party (discovery, token, ID token)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from report_api.pages.errors import SignInFailedError


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


class Provider:
    """One identity provider, its metadata read once from discovery."""

    def __init__(self, issuer: str, client_id: str, client_secret: str | None) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self._meta: dict[str, Any] | None = None
        self._jwks: jwt.PyJWKClient | None = None

    async def metadata(self, client: httpx.AsyncClient) -> dict[str, Any]:
        if self._meta is None:
            response = await client.get(f"{self.issuer}/.well-known/openid-configuration")
            if response.status_code != 200:
                raise SignInFailedError(f"the identity provider's discovery answered HTTP {response.status_code}")
            meta = response.json()
            if meta.get("issuer", "").rstrip("/") != self.issuer:
                raise SignInFailedError("the identity provider's discovery names another issuer")
            self._meta = meta
        return self._meta

    async def authorize_url(
        self, client: httpx.AsyncClient, *, redirect_uri: str, state: str, nonce: str, challenge: str
    ) -> str:
        meta = await self.metadata(client)
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return f"{meta['authorization_endpoint']}?{urlencode(query)}"

    async def exchange(
        self, client: httpx.AsyncClient, *, code: str, verifier: str, redirect_uri: str, nonce: str
    ) -> dict[str, Any]:
        """The verified ID token's claims for an authorization code."""
        meta = await self.metadata(client)
        response = await client.post(
            meta["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "client_id": self.client_id,
                "client_secret": self.client_secret or "",
            },
        )
        if response.status_code != 200:
            raise SignInFailedError(f"the identity provider refused the code (HTTP {response.status_code})")
        id_token = response.json().get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailedError("the identity provider sent no ID token")
        if self._jwks is None:
            self._jwks = jwt.PyJWKClient(meta["jwks_uri"], cache_keys=True, lifespan=300)
        jwks = self._jwks
        try:
            key = await asyncio.to_thread(jwks.get_signing_key_from_jwt, id_token)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=["ES256", "RS256", "PS256", "EdDSA"],
                audience=self.client_id,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise SignInFailedError(f"the ID token is not valid: {exc}") from None
        if claims.get("nonce") != nonce:
            raise SignInFailedError("the ID token's nonce does not match this sign-in")
        return claims
