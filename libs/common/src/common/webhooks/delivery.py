"""One delivery attempt (POST, never following redirects) and the retry back-off."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

__all__ = ["DeliveryResult", "backoff_delay", "deliver"]


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
            ``"HTTP 500"``, ``"ClientConnectorError: ..."``), or None on success.
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
    session: aiohttp.ClientSession,
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
    response headers, truncated body) is bounded by ``timeout`` seconds. Check the URL with
    :func:`check_webhook_url` before calling this.

    aiohttp, not httpx: a relay makes thousands of these calls, and aiohttp spends about a tenth
    of httpx's CPU on each (docs/benchmarks.md).

    Args:
        session: The shared session; best created with ``auto_decompress=False`` (the captured
            body is then the bytes that arrived, whatever the receiver's encoding).
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
            async with session.post(
                url,
                data=body,
                headers=request_headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                status_code = response.status
                retry_after = _parse_retry_after(response.headers.get("retry-after"), time.time())
                location = response.headers.get("location")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_any():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > max_response_bytes:
                        truncated = True
                        break
                captured = b"".join(chunks)[:max_response_bytes]
    except TimeoutError:
        error = "timeout"
    except (aiohttp.ClientError, ValueError) as exc:  # ValueError: a URL aiohttp cannot use
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
