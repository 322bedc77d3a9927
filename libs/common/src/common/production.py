"""The production guard: with ``ENVIRONMENT=production`` a service refuses to start on development
keys, secrets or PKI, or on values copied from ``.env.example``, and names each setting at fault.

The rules common to both services are here; each service adds its own (see its ``settings.py``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from common.settings import AuthSettings

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "UnsafeProductionSettingsError",
    "auth_problems",
    "database_problems",
    "enforce",
    "is_production",
    "made_by_development_pki",
    "refused_at_start",
    "secret_problems",
    "url_problems",
]

ENVIRONMENT_VARIABLE = "ENVIRONMENT"

EXAMPLE_DATABASE_PASSWORDS = frozenset({"directive_api_dev", "report_api_dev"})
"""The database passwords of ``.env.example`` and the compose stack's PostgreSQL."""

_DEVELOPMENT_WORDS = ("development-only", "not-a-real-secret", "changeme", "change-me")


class UnsafeProductionSettingsError(RuntimeError):
    """Production was asked for, but some settings are development ones."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{ENVIRONMENT_VARIABLE}=production, but these settings are not fit for production:\n{lines}")


def is_production() -> bool:
    """Whether ``ENVIRONMENT`` says production."""
    return os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower() in ("production", "prod")


def enforce(problems: list[str]) -> None:
    """Refuse to start in production when there are problems; do nothing in other environments.

    Raises:
        UnsafeProductionSettingsError: In production, with one line per setting at fault.
    """
    if problems and is_production():
        raise UnsafeProductionSettingsError(problems)


def made_by_development_pki(pem_file: Path) -> bool | None:
    """Whether a PEM file holds a certificate the development PKI made, whatever the file is called
    (None: unreadable). Every certificate of :mod:`common.pdf.dev_pki` names its organisation."""
    from cryptography import x509

    from common.pdf.dev_pki import DEV_PKI_ORGANISATION

    try:
        certificates = x509.load_pem_x509_certificates(pem_file.read_bytes())
    except (OSError, ValueError):
        return None
    for certificate in certificates:
        for name in (certificate.subject, certificate.issuer):
            organisations = name.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
            if any(attribute.value == DEV_PKI_ORGANISATION for attribute in organisations):
                return True
    return False


def refused_at_start(problems: list[str]) -> bool:
    """For a command that starts a process: in production with problems, print them (stderr) and say
    so, before anything (a development key for a missing one) is created."""
    try:
        enforce(problems)
    except UnsafeProductionSettingsError as exc:
        sys.stderr.write(f"{exc}\n")
        return True
    return False


def auth_problems(auth: AuthSettings, prefix: str) -> list[str]:
    """Token checking with the development keys (``mint-token``'s), or keys a start would create."""
    if auth.jwks_url or auth.public_key_pem:
        return []
    name = f"{prefix}AUTH__PUBLIC_KEY_FILE"
    if auth.public_key_file is None:
        return [f"{name} (or AUTH__JWKS_URL / AUTH__PUBLIC_KEY_PEM): no key checks the tokens"]
    path = Path(auth.public_key_file)
    if not path.exists():
        return [f"{name}={path}: missing (a development key pair would be created); give the identity provider's key"]
    if (path.parent / "jwt-private.pem").exists():
        return [f"{name}={path}: a development key pair (its private key lies beside it, anyone can mint tokens)"]
    return []


def _looks_like_development(value: str) -> bool:
    text = value.strip()
    candidates = [text.lower()]
    body = text.removeprefix("whsec_")
    with contextlib.suppress(binascii.Error, ValueError):
        candidates.append(base64.b64decode(body + "=" * (-len(body) % 4), validate=True).decode("utf-8", "ignore"))
    return any(word in c.lower() for c in candidates for word in _DEVELOPMENT_WORDS)


def secret_problems(name: str, values: list[str]) -> list[str]:
    """A secret that is ``.env.example``'s (``whsec_`` + "development-only-not-a-real-secret") or a
    placeholder."""
    return [
        f"{name}: a development secret (the value of .env.example)" for v in values if v and _looks_like_development(v)
    ][:1]


def database_problems(name: str, url: str) -> list[str]:
    """The database password of ``.env.example``."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    if password in EXAMPLE_DATABASE_PASSWORDS:
        return [f"{name}: the development database password of .env.example"]
    return []


def url_problems(name: str, url: str) -> list[str]:
    """A public URL that points at this machine (``.env.example``'s ``localhost``)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "127.0.0.1", "::1") or host.endswith(".local"):
        return [f"{name}={url}: a development address; give the address the public reaches"]
    return []
