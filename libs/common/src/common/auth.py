"""Bearer-token authentication: JWTs signed with RS256/ES256, checked for issuer, audience and expiry.

Claims carry the person (``sub``, ``name``), their ``roles`` and the ``unit`` they act for. Keys come
from a JWKS URL (an OIDC provider) or a configured public key. For development,
:func:`ensure_dev_keys` creates a local key pair and :func:`mint_token` issues tokens with it
(``directive-api mint-token``).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from common.lazy import lazy_attributes
from common.problems import ForbiddenError, NotAuthenticatedError
from common.settings import AuthSettings
from common.storage import locked_directory

if TYPE_CHECKING:
    from common.auth_dependency import CurrentPrincipal as CurrentPrincipal
    from common.auth_dependency import current_principal as current_principal


# ``CurrentPrincipal`` and ``current_principal``, the FastAPI dependency, live in
# common.auth_dependency: a command line that mints a token or checks keys does not import FastAPI.
__getattr__ = lazy_attributes(
    __name__, dict.fromkeys(("CurrentPrincipal", "current_principal"), "common.auth_dependency")
)


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
            algorithm = jwt.get_unverified_header(token).get("alg")
            if not isinstance(algorithm, str) or algorithm not in self._algorithms:
                raise NotAuthenticatedError("invalid bearer token: its algorithm is not accepted")
            if algorithm not in _algorithms_for(key):
                # PyJWT would hand the key to the named algorithm and fail with a TypeError (an RSA
                # algorithm given an EC key): a token naming another key type is simply not ours.
                raise NotAuthenticatedError("invalid bearer token: its algorithm does not fit the configured key")
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                leeway=self._settings.leeway_seconds,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except NotAuthenticatedError:
            raise
        except jwt.PyJWTError as exc:
            raise NotAuthenticatedError(f"invalid bearer token: {exc}") from None
        except Exception:
            # Anything a hostile token makes the decoder raise (json's NaN/Infinity in a numeric
            # claim, an unexpected header type...) is a refusal, never a 500.
            raise NotAuthenticatedError("invalid bearer token: it cannot be decoded") from None
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        exp = claims.get("exp")
        if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
            raise NotAuthenticatedError("invalid bearer token: 'exp' must be a number")
        if exp > time.time() + self._settings.max_lifetime_seconds + self._settings.leeway_seconds:
            raise NotAuthenticatedError("invalid bearer token: 'exp' lies too far in the future")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > MAX_SUBJECT_LENGTH:
            raise NotAuthenticatedError(
                f"invalid bearer token: 'sub' must be a non-empty string of at most {MAX_SUBJECT_LENGTH} characters"
            )
        name = claims.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME_LENGTH):
            raise NotAuthenticatedError(
                f"invalid bearer token: 'name' must be a string of at most {MAX_NAME_LENGTH} characters"
            )
        roles = claims.get("roles", [])
        if (
            not isinstance(roles, list)
            or len(roles) > MAX_ROLES
            or not all(isinstance(r, str) and len(r) <= MAX_SUBJECT_LENGTH for r in roles)
        ):
            raise NotAuthenticatedError("invalid bearer token: 'roles' must be a short list of strings")
        unit = claims.get("unit")
        if unit is not None and (not isinstance(unit, str) or not unit or len(unit) > MAX_SUBJECT_LENGTH):
            raise NotAuthenticatedError("invalid bearer token: 'unit' must be a non-empty string")
        return Principal(
            subject=subject,
            name=name or subject,
            roles=frozenset(roles),
            unit=unit,
            claims=claims,
        )


MAX_SUBJECT_LENGTH = 64
"""Person ids are stored in 64-character columns (``drafted_by``, ``actor_id``...)."""
MAX_NAME_LENGTH = 200
MAX_ROLES = 32


def _algorithms_for(key: Any) -> frozenset[str]:
    """The JWS algorithms that can verify with ``key`` (a cryptography public key)."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return frozenset({"ES256", "ES384", "ES512"})
    if isinstance(key, rsa.RSAPublicKey):
        return frozenset({"RS256", "RS384", "RS512", "PS256"})
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return frozenset({"EdDSA"})
    return frozenset()


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
    issuer: str,
    audience: str,
    ttl_seconds: int = 3600,
    extra: dict[str, Any] | None = None,
) -> str:
    """A signed token for development and tests (ES256 for EC keys, RS256 for RSA keys).

    ``issuer`` and ``audience`` are those the receiving service checks (its ``AUTH__ISSUER`` and
    ``AUTH__AUDIENCE``)."""
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
