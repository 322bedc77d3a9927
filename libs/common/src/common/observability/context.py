"""The request id of the request being handled, for log lines."""

from __future__ import annotations

import contextvars
import uuid

from starlette.types import ASGIApp, Receive, Scope, Send

from common.http import RequestIdMiddleware

__all__ = ["RequestContextMiddleware", "current_request_id"]

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled in this context, if any."""
    return _request_id.get()


class RequestContextMiddleware:
    """Puts the request id into a context variable, for the log lines of the request.

    Works on either side of :class:`common.http.RequestIdMiddleware`: inside it, it takes the id
    that middleware left in ``scope["state"]["request_id"]``; outside it (the usual case, since
    :func:`install_observability` runs after the app is built), it takes a valid ``X-Request-ID``
    from the client or generates one and puts it into the request headers, so that
    ``RequestIdMiddleware`` adopts the same id and echoes it in the response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request_id = state.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
            incoming = dict(headers).get(RequestIdMiddleware.header)
            if incoming and RequestIdMiddleware._valid.match(incoming):
                request_id = incoming.decode()
            else:
                request_id = uuid.uuid4().hex
                headers = [(k, v) for k, v in headers if k != RequestIdMiddleware.header]
                headers.append((RequestIdMiddleware.header, request_id.encode()))
                scope["headers"] = headers
            state["request_id"] = request_id
        token = _request_id.set(request_id)
        try:
            await self.app(scope, receive, send)
        finally:
            _request_id.reset(token)
