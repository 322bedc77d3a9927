"""Outgoing webhook policy, part of each service's settings."""

from __future__ import annotations

from cryptography.fernet import Fernet
from pydantic import BaseModel, Field, SecretStr, field_validator

__all__ = ["WebhookSettings"]


class WebhookSettings(BaseModel):
    """Outgoing webhook policy; include it in a service's settings (e.g. ``webhooks: WebhookSettings``).

    Attributes:
        allow_hosts: Admin-registered hosts that may use plain http and private addresses
            (see :func:`common.webhooks.check_webhook_url`).
        allow_private: Accept RFC 1918 / ULA addresses for any host (on-premises deployments).
        secrets_keys: Keys that encrypt endpoint secrets at rest (see :func:`use_secret_keys`).
        max_attempts: Attempts before a delivery is dead-lettered.
        timeout_seconds: Budget of one attempt.
        lease_seconds: How long a claim lasts; must exceed ``timeout_seconds`` plus recording.
        backoff_base_seconds: Ceiling of the first retry delay.
        backoff_cap_seconds: Largest retry delay.
        backoff_jitter: Full jitter (draw the delay from ``[0, ceiling]``).
        batch_size: Deliveries claimed (and sent concurrently) per batch.
        poll_interval_seconds: Sleep of the worker loop when nothing was due.
    """

    allow_hosts: list[str] = Field(default_factory=list)
    allow_private: bool = False
    secrets_keys: list[SecretStr] = Field(default_factory=list)
    """Fernet keys (``Fernet.generate_key()``) that encrypt endpoint secrets at rest: the first
    encrypts, every one decrypts (rotation: put the new key first, keep the old one until every row
    was rewritten). Without a key, secrets are stored in clear."""

    @field_validator("secrets_keys")
    @classmethod
    def _fernet_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for key in keys:
            try:
                Fernet(key.get_secret_value())
            except ValueError:
                raise ValueError("each secrets key must be 32 url-safe base64-encoded bytes (a Fernet key)") from None
        return keys

    max_attempts: int = Field(default=10, ge=1, le=100)
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    lease_seconds: float = Field(default=60.0, gt=0)
    backoff_base_seconds: float = Field(default=5.0, gt=0)
    backoff_cap_seconds: float = Field(default=6 * 3600.0, gt=0)
    backoff_jitter: bool = True
    batch_size: int = Field(default=20, ge=1, le=500)
    poll_interval_seconds: float = Field(default=1.0, gt=0)
