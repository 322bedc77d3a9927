"""Endpoint secrets encrypted at rest (Fernet), as a column type."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["EncryptedSecrets", "use_secret_keys"]

_ENCRYPTED = "enc:v1:"
_SECRET_KEYS: list[str] = []


def use_secret_keys(keys: Sequence[str]) -> None:
    """Encrypt endpoint secrets at rest with ``keys[0]``; decrypt with any key given so far.

    Process-wide (the column type has no other way to reach the configuration): each service
    calls it at start-up with ``WebhookSettings.secrets_keys``. An empty list changes nothing, so
    the keys of one configuration are never dropped by a later default.
    """
    for key in keys:
        Fernet(key)  # ValueError for a malformed key
    _SECRET_KEYS[:] = [*keys, *[k for k in _SECRET_KEYS if k not in keys]]


def _seal(secret: str) -> str:
    if not _SECRET_KEYS or secret.startswith(_ENCRYPTED):
        return secret
    return _ENCRYPTED + Fernet(_SECRET_KEYS[0]).encrypt(secret.encode()).decode("ascii")


def _open(stored: str) -> str:
    if not stored.startswith(_ENCRYPTED):
        return stored  # written before a key was configured: read as is, encrypted when next written
    if not _SECRET_KEYS:
        raise RuntimeError("webhook secrets are encrypted at rest: configure WEBHOOKS__SECRETS_KEYS")
    try:
        return MultiFernet([Fernet(k) for k in _SECRET_KEYS]).decrypt(stored[len(_ENCRYPTED) :].encode()).decode()
    except InvalidToken:
        raise RuntimeError("a webhook secret cannot be decrypted with the configured WEBHOOKS__SECRETS_KEYS") from None


class EncryptedSecrets(TypeDecorator[list[str]]):
    """A JSON list of secrets, each encrypted (Fernet) when a key is configured; clear in Python."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: list[str] | None, dialect: Dialect) -> list[str] | None:  # noqa: ARG002
        return None if value is None else [_seal(s) for s in value]

    def process_result_value(self, value: list[str] | None, dialect: Dialect) -> list[str] | None:  # noqa: ARG002
        return None if value is None else [_open(s) for s in value]
