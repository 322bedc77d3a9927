"""Outgoing and incoming webhooks: Standard Webhooks signatures (``signatures``), the SSRF guard
(``ssrf``), one delivery attempt and back-off (``delivery``). Every public name is importable from
``common.webhooks``."""

from __future__ import annotations

from common.webhooks.delivery import DeliveryResult, backoff_delay, deliver
from common.webhooks.signatures import (
    SECRET_PREFIX,
    InvalidWebhookSecretError,
    VerifiedWebhook,
    WebhookVerificationError,
    generate_secret,
    sign,
    signature_headers,
    verify,
)
from common.webhooks.ssrf import CheckedUrl, Resolver, UnsafeUrlError, check_webhook_url

__all__ = [
    "SECRET_PREFIX",
    "CheckedUrl",
    "DeliveryResult",
    "InvalidWebhookSecretError",
    "Resolver",
    "UnsafeUrlError",
    "VerifiedWebhook",
    "WebhookVerificationError",
    "backoff_delay",
    "check_webhook_url",
    "deliver",
    "generate_secret",
    "sign",
    "signature_headers",
    "verify",
]
