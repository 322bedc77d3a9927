"""Outgoing and incoming webhooks: Standard Webhooks signatures, SSRF guard, delivery, back-off.

Signatures follow the Standard Webhooks specification v1 (https://www.standardwebhooks.com,
``standard-webhooks/standard-webhooks`` ``spec/standard-webhooks.md``) and interoperate with its
reference library (PyPI ``standardwebhooks``):

* headers ``webhook-id`` (stable across retries: the consumer's idempotency key),
  ``webhook-timestamp`` (integer Unix seconds, set per attempt) and ``webhook-signature``
  (space-separated ``v1,<base64>`` entries, so that several keys can be valid during rotation);
* signed content ``{msg_id}.{timestamp}.{raw body}``, HMAC-SHA256, base64;
* secrets serialised as ``whsec_<base64 of 24..64 random bytes>``.

SSRF policy of :func:`check_webhook_url` (OWASP API7:2023):

* the scheme must be ``https``; plain ``http`` is accepted only for endpoints in ``allow_hosts``
  (admin-registered endpoints, e.g. an e-office system on the internal network); an entry names a
  host *and* a port (``host:port``, ``scheme://host:port``; a bare host means its default port);
* URLs with credentials (``user:pass@``) and non-canonical IPv4 literals (``2130706433``,
  ``0x7f.1``, ``127.1``) are refused;
* the host is resolved and *every* address must be public: loopback, private (RFC 1918, shared
  100.64/10, ULA fc00::/7), link-local, multicast, reserved, unspecified, IPv4-mapped IPv6,
  NAT64/6to4 addresses embedding a non-public IPv4, and other non-global ranges are refused;
* ``allow_private=True`` admits the *private* class only (on-premises deployments);
* an endpoint in ``allow_hosts`` skips the address checks, except that cloud metadata addresses
  (169.254.169.254 and friends) are refused for every host: no webhook receiver lives there.

Limits: the check does not pin the resolved address for the connection, so a DNS answer that
changes between the check and the request (DNS rebinding) is not caught. Run the check when an
endpoint is registered *and* right before each delivery, never follow redirects (:func:`deliver`
does not), and prefer an egress proxy (e.g. Stripe's smokescreen) where the deployment has one.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import hashlib
import hmac
import ipaddress
import random
import re
import secrets
import socket
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

import httpx

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

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
"""Prefix of serialised symmetric secrets (Standard Webhooks)."""

_MIN_SECRET_BYTES = 24
_MAX_SECRET_BYTES = 64
_SIGNATURE_VERSION = "v1"
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver: TypeAlias = Callable[[str, int], Iterable[str]]
"""Resolves ``(host, port)`` to IP address strings; raises ``OSError`` when it cannot."""


# --- signatures --------------------------------------------------------------------------------


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


# --- SSRF guard --------------------------------------------------------------------------------


class UnsafeUrlError(ValueError):
    """A webhook URL was refused by :func:`check_webhook_url`.

    Attributes:
        reason: Human-readable reason, e.g. ``"address 127.0.0.1 is loopback"``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CheckedUrl:
    """A URL accepted by :func:`check_webhook_url`.

    Attributes:
        url: The normalised URL.
        scheme: ``"https"`` or ``"http"``.
        host: The host in ASCII (IDNA) form, lower-case, without trailing dot or brackets.
        port: The explicit or default port.
        addresses: The resolved addresses that were checked.
        allow_listed: Whether the host matched ``allow_hosts``.
    """

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]
    allow_listed: bool


_METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle Cloud
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS VPC DNS
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::253",  # AWS VPC DNS over IPv6
    )
)
_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
_NAT64_NETWORKS = tuple(ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48"))
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_HOSTNAME_RE = re.compile(
    r"(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*"
)
_NUMERIC_LABEL_RE = re.compile(r"0x[0-9a-f]*|[0-9]+")


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if any(ip in net for net in _NAT64_NETWORKS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    return None


def _without_scope(ip: IPAddress) -> IPAddress:
    return ipaddress.IPv6Address(int(ip)) if isinstance(ip, ipaddress.IPv6Address) else ip


def _is_metadata(ip: IPAddress) -> bool:
    bare = _without_scope(ip)
    if bare in _METADATA_ADDRESSES:
        return True
    if isinstance(bare, ipaddress.IPv6Address):
        embedded = bare.ipv4_mapped or _embedded_ipv4(bare)
        return embedded in _METADATA_ADDRESSES
    return False


def _address_problem(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Return why ``ip`` must not be contacted, or None if it may."""
    ip = _without_scope(ip)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            # NAT64 (DNS64 networks) and 6to4 reach the embedded IPv4 address: judge that one.
            problem = _address_problem(embedded, allow_private=allow_private)
            return None if problem is None else f"embedding an IPv4 address that is {problem}"
    if ip in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if any(ip in net for net in _PRIVATE_NETWORKS if net.version == ip.version):
        return None if allow_private else "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "not globally routable"
    return None


def _normalise_host(host: str) -> str:
    """Normalise an allow-list entry or URL host for comparison."""
    text = host.strip().lower().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        pass
    try:
        return httpx.URL(f"https://{text}/").raw_host.decode("ascii").rstrip(".")
    except (httpx.InvalidURL, UnicodeError):
        return text


_DEFAULT_PORTS = {"http": 80, "https": 443}


_ANY_PORT = 0


def _allow_entry(entry: str) -> tuple[str | None, str, int | None]:
    """``(scheme or None, normalised host, port or None)`` of an allow-list entry.

    Entries: ``host`` (the scheme's default port only), ``host:port``, ``[v6]:port``, or
    ``scheme://host[:port]`` (that scheme only; its default port when none is written). A port
    ``*`` (``127.0.0.1:*``) opens every port of the host: for tests and development only.
    """
    text = entry.strip()
    if text.endswith(":*"):
        scheme, host, _port = _allow_entry(text[:-2])
        return scheme, host, _ANY_PORT
    if "://" in text:
        try:
            parsed = httpx.URL(text)
        except (httpx.InvalidURL, UnicodeError):
            return None, _normalise_host(text), -1  # matches nothing
        scheme = parsed.scheme.lower()
        return (
            scheme,
            _normalise_host(parsed.raw_host.decode("ascii", "replace")),
            parsed.port or _DEFAULT_PORTS.get(scheme, -1),
        )
    host, port_text = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    if port_text:
        return None, _normalise_host(host), int(port_text) if port_text.isdigit() else -1
    return None, _normalise_host(host), None


def _allow_listed(allow_hosts: Collection[str], scheme: str, host: str, port: int) -> bool:
    for entry in allow_hosts:
        entry_scheme, entry_host, entry_port = _allow_entry(entry)
        if entry_host != host or (entry_scheme is not None and entry_scheme != scheme):
            continue
        if entry_port == _ANY_PORT or port == (entry_port if entry_port is not None else _DEFAULT_PORTS[scheme]):
            return True
    return False


def check_webhook_url(
    url: str,
    *,
    allow_hosts: Collection[str] = (),
    allow_private: bool = False,
    resolver: Resolver | None = None,
) -> CheckedUrl:
    """Refuse webhook URLs that could reach internal services (SSRF guard).

    See the module docstring for the policy. Resolution failures are refusals (fail closed).
    The default resolver calls ``socket.getaddrinfo`` and blocks; from async code call this
    function through ``asyncio.to_thread``.

    Args:
        url: The URL to check.
        allow_hosts: Admin-registered endpoints (no wildcards): ``host`` (that host on the
            scheme's default port only), ``host:port`` (any of http/https on that port), or
            ``scheme://host[:port]``. ``http`` is allowed for them and their addresses are not
            classified, except that metadata addresses are still refused. A host alone never
            opens its other ports (``127.0.0.1`` does not admit ``127.0.0.1:22``).
        allow_private: Accept private addresses (RFC 1918, 100.64/10, fc00::/7) for any host;
            loopback, link-local and the other classes stay refused.
        resolver: ``(host, port) -> addresses``; ``socket.getaddrinfo`` when omitted.

    Returns:
        The normalised URL, host, port and the addresses that were checked.

    Raises:
        UnsafeUrlError: If the URL is malformed, uses another scheme, carries credentials,
            cannot be resolved, or resolves to a refused address.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, UnicodeError) as exc:
        raise UnsafeUrlError(f"malformed URL: {exc}") from None
    scheme = parsed.scheme
    if scheme not in ("http", "https"):
        raise UnsafeUrlError(f"scheme {scheme!r} is not allowed; use https")
    if parsed.userinfo:
        raise UnsafeUrlError("credentials in the URL are not allowed")
    try:
        raw_host = parsed.raw_host.decode("ascii")
    except UnicodeError:
        raise UnsafeUrlError("host is not ASCII after IDNA encoding") from None
    if not raw_host:
        raise UnsafeUrlError("URL has no host")
    port = parsed.port if parsed.port is not None else (443 if scheme == "https" else 80)
    if not 0 < port < 65536:
        raise UnsafeUrlError(f"port {port} is out of range")

    literal: IPAddress | None
    try:
        literal = ipaddress.ip_address(raw_host)
    except ValueError:
        literal = None
    if literal is not None:
        host = literal.compressed
    else:
        host = raw_host.lower().rstrip(".")
        if not _HOSTNAME_RE.fullmatch(host):
            raise UnsafeUrlError(f"host {host!r} is not a valid host name")
        if _NUMERIC_LABEL_RE.fullmatch(host.rsplit(".", 1)[-1]):
            # A name ending in a number is an IPv4 address for resolvers and browsers
            # (2130706433, 0x7f.1, 127.1, 127.0.0.01): refuse the non-canonical forms.
            raise UnsafeUrlError(f"host {host!r} is a non-canonical IPv4 address")

    allow_listed = _allow_listed(allow_hosts, scheme, host, port)
    if scheme != "https" and not allow_listed:
        raise UnsafeUrlError("plain http is allowed only for allow-listed hosts; use https")

    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            resolved = list((resolver or _system_resolver)(host, port))
        except (OSError, UnicodeError) as exc:
            raise UnsafeUrlError(f"cannot resolve host {host!r}: {exc}") from None
        if not resolved:
            raise UnsafeUrlError(f"host {host!r} did not resolve to any address")
        try:
            addresses = [ipaddress.ip_address(a) for a in resolved]
        except ValueError as exc:
            raise UnsafeUrlError(f"resolver returned an invalid address: {exc}") from None

    for ip in addresses:
        if allow_listed:
            if _is_metadata(ip):
                raise UnsafeUrlError(f"address {ip} is a cloud metadata address")
            continue
        problem = _address_problem(ip, allow_private=allow_private)
        if problem is not None:
            raise UnsafeUrlError(f"address {ip} is {problem}")

    return CheckedUrl(
        url=str(parsed),
        scheme=scheme,
        host=host,
        port=port,
        addresses=tuple(dict.fromkeys(ip.compressed for ip in addresses)),
        allow_listed=allow_listed,
    )


# --- delivery ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """Outcome of one delivery attempt.

    Attributes:
        ok: True only for a 2xx response (Standard Webhooks: 3xx is a failure).
        status_code: The HTTP status, or None if no response arrived.
        latency_seconds: Time from sending the request to the end of reading the (truncated)
            response body or to the failure.
        response_body: The start of the response body, decoded as UTF-8 with replacement.
        truncated: Whether the response body was longer than the captured part.
        error: Why the attempt failed (``"timeout"``, ``"redirect not followed: ..."``,
            ``"HTTP 500"``, ``"ConnectError: ..."``), or None on success.
        retry_after_seconds: The response's ``Retry-After`` in seconds, if any (honour it for
            429/503); never negative.
    """

    ok: bool
    status_code: int | None
    latency_seconds: float
    response_body: str = ""
    truncated: bool = False
    error: str | None = None
    retry_after_seconds: float | None = None

    @property
    def endpoint_gone(self) -> bool:
        """True for 410 Gone: the receiver asks to disable the endpoint."""
        return self.status_code == 410


def _parse_retry_after(value: str | None, now: float) -> float | None:
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


async def deliver(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float = 15.0,  # noqa: ASYNC109 - per-attempt budget, part of the delivery record
    *,
    max_response_bytes: int = 4096,
) -> DeliveryResult:
    """POST one webhook attempt, never following redirects.

    Network errors and timeouts are reported in the result, not raised. Only the first
    ``max_response_bytes`` of the response body are read. The whole attempt (connect, send,
    response headers, truncated body) is bounded by ``timeout`` seconds, in addition to httpx's
    per-phase timeouts set to the same value. Check the URL with :func:`check_webhook_url`
    before calling this.

    Args:
        client: The shared client (its ``follow_redirects`` setting is overridden to False).
        url: The endpoint URL.
        body: The exact bytes that were signed.
        headers: Request headers, typically :func:`signature_headers` plus ``content-type``.
        timeout: Seconds for the whole attempt.
        max_response_bytes: How much of the response body to keep.

    Returns:
        The outcome: status, latency, start of the body, error and ``Retry-After``.
    """
    started = time.perf_counter()
    status_code: int | None = None
    captured = b""
    truncated = False
    retry_after: float | None = None
    location: str | None = None
    error: str | None
    request_headers = dict(headers)
    if not any(name.lower() == "accept-encoding" for name in request_headers):
        # The captured body is read raw: ask for it uncompressed (no decompression bombs).
        request_headers["accept-encoding"] = "identity"
    try:
        async with asyncio.timeout(timeout):
            async with client.stream(
                "POST",
                url,
                content=body,
                headers=request_headers,
                follow_redirects=False,
                timeout=httpx.Timeout(timeout),
            ) as response:
                status_code = response.status_code
                retry_after = _parse_retry_after(response.headers.get("retry-after"), time.time())
                location = response.headers.get("location")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_raw():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > max_response_bytes:
                        truncated = True
                        break
                captured = b"".join(chunks)[:max_response_bytes]
    except (TimeoutError, httpx.TimeoutException):
        error = "timeout"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        error = f"{type(exc).__name__}: {exc}"
    else:
        assert status_code is not None
        if 200 <= status_code < 300:
            error = None
        elif 300 <= status_code < 400:
            error = f"redirect not followed (HTTP {status_code}, location {location!r})"
        else:
            error = f"HTTP {status_code}"
    latency = time.perf_counter() - started
    return DeliveryResult(
        ok=error is None,
        status_code=status_code,
        latency_seconds=latency,
        response_body=captured.decode("utf-8", errors="replace"),
        truncated=truncated,
        error=error,
        retry_after_seconds=retry_after,
    )


def backoff_delay(
    attempt: int,
    base: float = 5.0,
    cap: float = 3600.0,
    jitter: bool = True,
    rng: random.Random | None = None,
) -> float:
    """Delay before the next retry: exponential back-off with full jitter.

    The ceiling is ``min(cap, base * 2**attempt)``; with jitter the delay is drawn uniformly
    from ``[0, ceiling]`` (AWS "full jitter"), which spreads retries of many failed deliveries.
    Combine with the receiver's ``Retry-After`` by taking the maximum.

    Args:
        attempt: Number of failed attempts before this one minus one, i.e. 0 for the first
            retry; must be ``>= 0``.
        base: Ceiling of the first retry, seconds (> 0).
        cap: Largest possible delay, seconds (>= base).
        jitter: Draw from ``[0, ceiling]``; when False return the ceiling itself.
        rng: Random source; pass ``random.Random(seed)`` for deterministic delays.

    Returns:
        The delay in seconds.

    Raises:
        ValueError: If ``attempt`` is negative, ``base`` is not positive or ``cap < base``.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    if base <= 0:
        raise ValueError("base must be > 0")
    if cap < base:
        raise ValueError("cap must be >= base")
    ceiling = cap if attempt >= 64 else min(cap, base * 2**attempt)
    if not jitter:
        return ceiling
    return (rng or random).uniform(0.0, ceiling)
