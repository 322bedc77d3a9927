"""HTTP conventions shared by the services: ETags and preconditions, idempotency keys, request ids."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from common.db import JSONType, UTCDateTime, utc_now
from common.problems import (
    ConflictError,
    PayloadTooLargeError,
    PreconditionRequiredError,
    UnprocessableError,
    UnsupportedMediaTypeError,
)
from common.workflow import VersionMismatchError

if TYPE_CHECKING:  # annotations only: the models that use this module load without Starlette
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ETAG = re.compile(r'^\s*(?:W/)?"v?(\d+)"\s*$')


def etag(version: int) -> str:
    """The strong entity tag of a resource version."""
    return f'"{version}"'


def require_if_match(if_match: str | None, current_version: int, *, allow_any: bool = True) -> int:
    """Check an ``If-Match`` header against the current version.

    Returns the version the client saw. Missing header → 428; stale → 412; ``*`` matches any, unless
    ``allow_any`` is False: then it is refused like a missing header (428), since it would skip the
    lost-update check the header exists for.
    """
    if if_match is None or not if_match.strip():
        raise PreconditionRequiredError('send If-Match with the ETag you read, e.g. If-Match: "3"')
    if any(part.strip() == "*" for part in if_match.split(",")):
        if not allow_any:
            raise PreconditionRequiredError('If-Match: * is not accepted here: send the ETag you read, e.g. "3"')
        return current_version
    for candidate in if_match.split(","):
        match = _ETAG.match(candidate)
        if match and int(match.group(1)) == current_version:
            return current_version
    raise VersionMismatchError(
        "the resource has changed since you read it; reload it and retry",
        current_version=current_version,
        current_etag=etag(current_version),
    )


async def read_capped_body(
    request: Request, *, limit: int, media_types: Collection[str], expected: str, what: str
) -> bytes:
    """The raw request body, for routes that take a file: the media type must be one of
    ``media_types`` (415 otherwise, naming ``expected``) and the body at most ``limit`` bytes (413,
    checked on ``Content-Length`` and while streaming, so an oversized body is never held whole)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in media_types:
        raise UnsupportedMediaTypeError(f"send the {what} as the request body with Content-Type: {expected}")
    too_large = PayloadTooLargeError(f"the {what} is larger than {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


class IdempotencyKeyMismatchError(UnprocessableError):
    title = "Idempotency key reused with a different request"


class IdempotencyKeyInUseError(ConflictError):
    title = "A request with this idempotency key is in progress"


class IdempotencyRecordMixin:
    """Columns of a service's ``idempotency_keys`` table (each service owns its table)."""

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    principal: Mapped[str] = mapped_column(String(255), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int]
    response_body: Mapped[Any] = mapped_column(JSONType)
    resource_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


def request_fingerprint(body: Any) -> str:
    """A stable hash of a JSON-able request body."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


async def idempotent(
    session: AsyncSession,
    model: type[Any],
    *,
    key: str | None,
    principal: str,
    endpoint: str,
    body: Any,
    create: Callable[[], Awaitable[tuple[int, Any, str | None]]],
) -> tuple[int, Any, bool]:
    """Run ``create`` once per (key, caller, endpoint); replays the stored response afterwards.

    Returns (status, body, replayed). The key row is written in the same transaction as the
    creation, so a failed creation leaves no key behind. A different body under the same key → 422.
    """
    if key is None:
        status, response, _ = await create()
        return status, response, False
    if len(key) > 255 or not key.strip():
        raise UnprocessableError("Idempotency-Key must be 1–255 characters")
    fingerprint = request_fingerprint(body)
    existing = await session.scalar(
        select(model).where(model.key == key, model.principal == principal, model.endpoint == endpoint)
    )
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise IdempotencyKeyMismatchError("this Idempotency-Key was used with a different request body")
        return existing.response_status, existing.response_body, True
    status, response, resource_id = await create()
    record = model(
        key=key,
        principal=principal,
        endpoint=endpoint,
        request_hash=fingerprint,
        response_status=status,
        response_body=response,
        resource_id=resource_id,
    )
    session.add(record)
    try:
        await session.flush()
    except IntegrityError:
        raise IdempotencyKeyInUseError("a concurrent request with this Idempotency-Key won; retry") from None
    return status, response, False


class RequestIdMiddleware:
    """Gives each request an id (``X-Request-ID``, taken from the client when sane) and echoes it."""

    header = b"x-request-id"
    _valid = re.compile(rb"^[A-Za-z0-9._-]{1,128}$")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(self.header)
        request_id = incoming if incoming and self._valid.match(incoming) else uuid.uuid4().hex.encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((self.header, request_id))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodySizeLimitMiddleware:
    """Refuses request bodies larger than ``max_bytes`` with 413 problem+json, before the app reads them.

    Checks ``Content-Length`` up front and counts streamed bytes for chunked bodies. Routes that
    take large files and enforce their own cap are left alone: ``exempt`` holds path prefixes
    (strings) and, for routes with a parameter in the middle of the path, patterns matched against
    the whole path.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, exempt: tuple[str | re.Pattern[str], ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_prefixes = tuple(item for item in exempt if isinstance(item, str))
        self.exempt_patterns = tuple(item for item in exempt if not isinstance(item, str))

    def _exempt(self, path: str) -> bool:
        return path.startswith(self.exempt_prefixes) or any(p.fullmatch(path) for p in self.exempt_patterns)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._exempt(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _BodyTooLargeError
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLargeError:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        problem = PayloadTooLargeError(f"the request body is larger than {self.max_bytes} bytes")
        body = json.dumps(problem.to_problem(scope.get("path"))).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLargeError(Exception):
    pass
