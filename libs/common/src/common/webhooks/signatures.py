"""Standard Webhooks signatures of outgoing and incoming webhooks.

Signatures follow the Standard Webhooks specification v1 (https://www.standardwebhooks.com,
``standard-webhooks/standard-webhooks`` ``spec/standard-webhooks.md``) and interoperate with its
reference library (PyPI ``standardwebhooks``):

* headers ``webhook-id`` (stable across retries: the consumer's idempotency key),
  ``webhook-timestamp`` (integer Unix seconds, set per attempt) and ``webhook-signature``
  (space-separated ``v1,<base64>`` entries, so that several keys can be valid during rotation);
* signed content ``{msg_id}.{timestamp}.{raw body}``, HMAC-SHA256, base64;
* secrets serialised as ``whsec_<base64 of 24..64 random bytes>``.

Why not sign and verify with ``standardwebhooks`` itself: its ``Webhook`` holds one secret (a
receiver during a rotation tries each), verifies against the wall clock with a fixed five-minute
tolerance (the relay and the timer tests run on an injected clock; the tolerance is a receiver's
setting here), signs ``str`` bodies (ours are the exact bytes POSTed) and accepts secrets of any
length. The scheme itself is a dozen lines of HMAC; the reference library stays in the test
dependencies, where it checks this module in both directions (``libs/common/tests/webhooks``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "SECRET_PREFIX",
    "InvalidWebhookSecretError",
    "VerifiedWebhook",
    "WebhookVerificationError",
    "generate_secret",
    "sign",
    "signature_headers",
    "verify",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
"""Prefix of serialised symmetric secrets (Standard Webhooks)."""

_MIN_SECRET_BYTES = 24
_MAX_SECRET_BYTES = 64
_SIGNATURE_VERSION = "v1"
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")


class InvalidWebhookSecretError(ValueError):
    """A configured secret is not a ``whsec_`` base64 string of 24..64 bytes."""


class WebhookVerificationError(Exception):
    """An incoming webhook failed verification.

    Attributes:
        reason: A stable machine-readable code: ``missing_headers``, ``invalid_timestamp``,
            ``timestamp_too_old``, ``timestamp_too_new`` or ``no_matching_signature``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedWebhook:
    """Identity of a verified message.

    Attributes:
        msg_id: The ``webhook-id`` header: deduplicate on it (retries reuse it).
        timestamp: The ``webhook-timestamp`` header, Unix seconds.
    """

    msg_id: str
    timestamp: int


def generate_secret(nbytes: int = 32) -> str:
    """Generate a new endpoint secret.

    Args:
        nbytes: Random bytes in the key, 24..64 (the specification's range).

    Returns:
        ``"whsec_"`` followed by the standard base64 of ``nbytes`` random bytes.

    Raises:
        ValueError: If ``nbytes`` is outside 24..64.
    """
    if not _MIN_SECRET_BYTES <= nbytes <= _MAX_SECRET_BYTES:
        raise ValueError(f"nbytes must be between {_MIN_SECRET_BYTES} and {_MAX_SECRET_BYTES}")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def _decode_secret(secret: str) -> bytes:
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise InvalidWebhookSecretError(f"webhook secret must start with {SECRET_PREFIX!r}")
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidWebhookSecretError("webhook secret is not valid base64") from None
    if not _MIN_SECRET_BYTES <= len(key) <= _MAX_SECRET_BYTES:
        raise InvalidWebhookSecretError(
            f"webhook secret must decode to {_MIN_SECRET_BYTES}..{_MAX_SECRET_BYTES} bytes, got {len(key)}"
        )
    return key


def _check_msg_id(msg_id: str) -> None:
    if not msg_id or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in msg_id):
        raise ValueError("msg_id must be non-empty and contain no whitespace or control characters")


def _mac(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    signed_content = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed_content, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Compute one ``webhook-signature`` entry.

    Args:
        secret: The endpoint secret, ``whsec_<base64>``.
        msg_id: The ``webhook-id`` value.
        timestamp: The ``webhook-timestamp`` value, integer Unix seconds.
        body: The exact bytes sent as the request body.

    Returns:
        ``"v1,<base64 HMAC-SHA256 of '{msg_id}.{timestamp}.' + body>"``.

    Raises:
        InvalidWebhookSecretError: If the secret is malformed.
        ValueError: If ``msg_id`` is empty or contains whitespace/control characters, or the
            timestamp is negative.
    """
    _check_msg_id(msg_id)
    if timestamp < 0:
        raise ValueError("timestamp must be >= 0")
    mac = _mac(_decode_secret(secret), msg_id, int(timestamp), body)
    return f"{_SIGNATURE_VERSION},{base64.b64encode(mac).decode('ascii')}"


def _as_secret_list(secret_or_secrets: str | Iterable[str]) -> list[str]:
    secret_list = [secret_or_secrets] if isinstance(secret_or_secrets, str) else list(secret_or_secrets)
    if not secret_list:
        raise InvalidWebhookSecretError("at least one webhook secret is required")
    return secret_list


def signature_headers(
    secret_or_secrets: str | Iterable[str],
    msg_id: str,
    body: bytes,
    *,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Build the three Standard Webhooks headers for one delivery attempt.

    During a key rotation pass both the new and the old secret: the signature header then holds
    one entry per secret and the receiver accepts the message with either key.

    Args:
        secret_or_secrets: One secret or several active secrets.
        msg_id: The message id, identical for every retry of the same event.
        body: The exact request body.
        timestamp: Unix seconds; the current time when omitted.

    Returns:
        ``{"webhook-id": ..., "webhook-timestamp": ..., "webhook-signature": ...}``.

    Raises:
        InvalidWebhookSecretError: If no secret is given or one is malformed.
        ValueError: If ``msg_id`` or ``timestamp`` is invalid.
    """
    ts = int(time.time()) if timestamp is None else timestamp
    signatures = " ".join(sign(s, msg_id, ts, body) for s in _as_secret_list(secret_or_secrets))
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signatures}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def verify(
    secret_or_secrets: str | Iterable[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> VerifiedWebhook:
    """Verify an incoming Standard Webhooks message.

    Verify the raw request bytes, never a re-serialised JSON document. Entries of other
    versions (e.g. ``v1a`` asymmetric signatures) and malformed entries in the signature header
    are ignored; the message passes if any ``v1`` entry matches any of the secrets (constant-time
    comparison). After success, deduplicate on :attr:`VerifiedWebhook.msg_id`.

    Args:
        secret_or_secrets: The endpoint secret, or all currently active secrets (rotation).
        headers: Request headers; names are matched case-insensitively.
        body: The raw request body.
        tolerance_seconds: Maximum distance between ``webhook-timestamp`` and ``now``, in either
            direction (replay protection); the reference library uses 5 minutes.
        now: Current Unix time; ``time.time()`` when omitted (injectable for tests).

    Returns:
        The message id and timestamp.

    Raises:
        WebhookVerificationError: If a header is missing, the timestamp is malformed or outside
            the tolerance, or no signature matches (tampered body, wrong secret, wrong id).
        InvalidWebhookSecretError: If no secret is given or one is malformed (a configuration
            error, not a verification failure).
    """
    keys = [_decode_secret(s) for s in _as_secret_list(secret_or_secrets)]
    msg_id = _header(headers, "webhook-id")
    timestamp_text = _header(headers, "webhook-timestamp")
    signature_text = _header(headers, "webhook-signature")
    if not msg_id or not timestamp_text or not signature_text:
        raise WebhookVerificationError("missing_headers", "missing webhook-id, webhook-timestamp or webhook-signature")
    timestamp_text = timestamp_text.strip()
    if not _TIMESTAMP_RE.fullmatch(timestamp_text):
        raise WebhookVerificationError("invalid_timestamp", "webhook-timestamp is not integer Unix seconds")
    timestamp = int(timestamp_text)
    current = time.time() if now is None else now
    if timestamp < current - tolerance_seconds:
        raise WebhookVerificationError("timestamp_too_old", "webhook timestamp is too old")
    if timestamp > current + tolerance_seconds:
        raise WebhookVerificationError("timestamp_too_new", "webhook timestamp is too far in the future")

    expected = [_mac(key, msg_id, timestamp, body) for key in keys]
    matched = False
    for entry in signature_text.split():
        version, sep, encoded = entry.partition(",")
        if not sep or version != _SIGNATURE_VERSION:
            continue
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        for mac in expected:
            # Keep comparing after a match so the time taken does not depend on which key matched.
            matched |= hmac.compare_digest(mac, candidate)
    if not matched:
        raise WebhookVerificationError("no_matching_signature", "no matching webhook signature")
    return VerifiedWebhook(msg_id=msg_id, timestamp=timestamp)
