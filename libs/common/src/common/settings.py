"""Settings pieces shared by the services.

Each service builds its own ``Settings(BaseSettings)`` with its own environment prefix from these
pieces, and passes it into its ``create_app(settings)`` factory.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, BeforeValidator, Field, SecretStr


class DatabaseSettings(BaseModel):
    """Where the service keeps its data.

    ``url`` is an SQLAlchemy URL: ``sqlite+aiosqlite:///var/directive.db`` for the embedded default,
    ``postgresql+asyncpg://user:pass@host/db`` in production.
    """

    url: str = "sqlite+aiosqlite:///var/app.db"
    pool_size: int = Field(default=10, ge=1, le=200)
    pool_pre_ping: bool = False
    """Test each pooled PostgreSQL connection before a request uses it (two extra round trips per
    request: about 30 % of a simple read's cost). Off by default: a connection found broken
    invalidates the whole pool, the one request that met it answers 503 with ``Retry-After``, and
    the next ones reconnect. Background workers always ping."""
    echo: bool = False
    max_overflow: int = Field(default=0, ge=0, le=200)
    """Connections a process may open beyond ``pool_size`` under a burst. A process never holds more
    than ``pool_size + max_overflow``: budget them (times every process) against PostgreSQL's
    ``max_connections`` or the pooler's limit (docs/operations.md, "Database connections")."""
    pool_timeout: float = Field(default=30, gt=0, le=300)
    """Seconds a request waits for a free pooled connection before it answers 503 ``database-busy``
    with ``Retry-After`` (PostgreSQL; SQLite has no pool)."""
    transaction_pooling: bool = False
    """The URL is a transaction-mode pooler (PgBouncer, CloudNativePG ``Pooler``): prepared
    statements are not cached across transactions."""


class AuthSettings(BaseModel):
    """How bearer tokens are checked.

    Exactly one key source is used: ``jwks_url`` (an OIDC provider), else ``public_key_pem`` inline,
    else ``public_key_file``. ``issuer`` and ``audience`` have no default here: they belong to the
    deployment, and each service's settings give its own.
    """

    issuer: str
    """The ``iss`` every token must carry (the identity provider's issuer URL)."""
    audience: str
    """The ``aud`` every token must carry."""
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    jwks_url: str | None = None
    public_key_pem: SecretStr | None = None
    public_key_file: Path | None = None
    leeway_seconds: int = Field(default=30, ge=0, le=300)
    max_lifetime_seconds: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    """A token whose ``exp`` lies further in the future than this is refused: a stolen or mis-minted
    token must not work for years."""


def nested_defaults(**defaults: object) -> BeforeValidator:
    """For a nested field of a service's settings (``Annotated[AuthSettings, nested_defaults(...)]``):
    what its ``PREFIX_FIELD__…`` variables leave out keeps the service's ``defaults``.

    pydantic-settings builds a nested field from its variables alone, without the field's default: a
    deployment that sets ``AUTH__JWKS_URL`` would otherwise have to repeat every value the service
    gives a default."""

    def fill(value: object) -> object:
        return {**defaults, **value} if isinstance(value, dict) else value

    return BeforeValidator(fill)
