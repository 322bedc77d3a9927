"""Bearer-token authentication: JWTs signed with RS256/ES256, checked for issuer, audience and expiry.

Claims carry the person (``sub``, ``name``), their ``roles`` and the ``unit`` they act for. Keys come
from a JWKS URL (an OIDC provider) or a configured public key. For development,
:func:`ensure_dev_keys` creates a local key pair and :func:`mint_token` issues tokens with it
(``python -m common.auth mint …``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from common.problems import ForbiddenError, NotAuthenticatedError
from common.settings import AuthSettings
from common.storage import locked_directory

ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "EdDSA"})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    subject: str
    name: str
    roles: frozenset[str]
    unit: str | None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def id(self) -> str:
        """The person id (the token's ``sub``)."""
        return self.subject

    def has_any(self, *roles: str) -> bool:
        """Whether the caller holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)


class TokenVerifier:
    """Checks bearer tokens against the configured key source."""

    def __init__(self, settings: AuthSettings) -> None:
        algorithms = [a for a in settings.algorithms if a in ALLOWED_ALGORITHMS]
        if not algorithms:
            raise ValueError("no asymmetric JWT algorithm configured")
        self._settings = settings
        self._algorithms = algorithms
        self._jwks: jwt.PyJWKClient | None = None
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._cache_size = 10_000
        self._key: Any = None
        if settings.jwks_url:
            self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=300)
        elif settings.public_key_pem is not None:
            self._key = serialization.load_pem_public_key(settings.public_key_pem.get_secret_value().encode())
        elif settings.public_key_file is not None:
            self._key = serialization.load_pem_public_key(settings.public_key_file.read_bytes())
        else:
            raise ValueError("no JWT key source configured (jwks_url, public_key_pem or public_key_file)")

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; :class:`NotAuthenticatedError` otherwise.

        Verified tokens are remembered until they expire, so a client that reuses its token does
        not pay for a signature check on every request.
        """
        cached = self._cache.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        principal = self._verify(token)
        if len(self._cache) >= self._cache_size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[token] = (principal, float(principal.claims["exp"]))
        return principal

    def _verify(self, token: str) -> Principal:
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._key
            claims = jwt.decode(
                token,
                key=key,
                algorithms=self._algorithms,
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                leeway=self._settings.leeway_seconds,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise NotAuthenticatedError(f"invalid bearer token: {exc}") from None
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise NotAuthenticatedError("invalid bearer token: 'roles' must be a list of strings")
        unit = claims.get("unit")
        if unit is not None and not isinstance(unit, str):
            raise NotAuthenticatedError("invalid bearer token: 'unit' must be a string")
        return Principal(
            subject=str(claims["sub"]),
            name=str(claims.get("name") or claims["sub"]),
            roles=frozenset(roles),
            unit=unit,
            claims=claims,
        )


_bearer = HTTPBearer(auto_error=False, description="A JWT issued by the identity provider (or `mint-token`).")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the caller, from the ``Authorization: Bearer`` header."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise NotAuthenticatedError("a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(principal: Principal, *roles: str) -> None:
    """Raise 403 unless the principal holds one of ``roles``."""
    if not principal.has_any(*roles):
        raise ForbiddenError(f"this action needs one of the roles: {', '.join(sorted(roles))}")


@dataclass(frozen=True)
class DevKeys:
    """A development signing key pair for tokens."""

    private_key_file: Path
    public_key_file: Path


def ensure_dev_keys(directory: Path) -> DevKeys:
    """Create (once) an ES256 key pair for development tokens under ``directory``.

    Safe when several processes start on a fresh machine at once (both services, say): they take
    turns on a directory lock, the first creates the pair and the others reuse it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    private_file = directory / "jwt-private.pem"
    public_file = directory / "jwt-public.pem"
    with locked_directory(directory):
        if not (private_file.exists() and public_file.exists()):
            key = ec.generate_private_key(ec.SECP256R1())
            private_pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            public_pem = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            for path, pem, mode in ((public_file, public_pem, 0o644), (private_file, private_pem, 0o600)):
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(pem)
                tmp.chmod(mode)
                tmp.replace(path)
    return DevKeys(private_file, public_file)


def mint_token(
    private_key_pem: bytes,
    *,
    subject: str,
    roles: Iterable[str],
    unit: str | None,
    name: str | None = None,
    issuer: str = AuthSettings().issuer,
    audience: str = AuthSettings().audience,
    ttl_seconds: int = 3600,
    extra: dict[str, Any] | None = None,
) -> str:
    """A signed token for development and tests (ES256 for EC keys, RS256 for RSA keys)."""
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    algorithm = "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256"
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "name": name or subject,
        "roles": sorted(set(roles)),
        "iat": now,
        "nbf": now - 5,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if unit is not None:
        claims["unit"] = unit
    if extra:
        claims.update(extra)
    return jwt.encode(claims, key, algorithm=algorithm)  # type: ignore[arg-type]
