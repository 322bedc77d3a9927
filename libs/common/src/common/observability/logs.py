"""Logs: one JSON object per line (or text) on the root logger and uvicorn's, with the request id."""

from __future__ import annotations

import datetime as dt
import json as jsonlib
import logging
import sys
import traceback
from typing import IO, Any

from common.observability.context import current_request_id

__all__ = ["CHATTY_LOGGERS", "JsonFormatter", "access_logger", "configure_logging"]

access_logger = logging.getLogger("access")
"""One line per request, written by :class:`common.observability.MetricsMiddleware`."""

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is emitted.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "service",
    "request_id",
    "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colour codes
}
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")
# Libraries that log every request (httpx) or every CSS rule they skip (WeasyPrint) at INFO or
# WARNING: shown only when the service logs at DEBUG.
CHATTY_LOGGERS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "weasyprint": logging.ERROR,
    "fontTools": logging.ERROR,
}


class _ContextFilter(logging.Filter):
    """Adds ``service`` and ``request_id`` to each record passing through the handler."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record.

    Keys: ``ts`` (RFC 3339, UTC, milliseconds), ``level``, ``logger``, ``message``, ``service``,
    ``request_id``, ``exc_info`` (the formatted traceback, when present), ``stack_info`` (when
    present), ``trace_id``/``span_id`` (when an OpenTelemetry span is recording), then any
    ``extra=`` fields of the call.
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": getattr(record, "service", self.service),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        if record.exc_info:
            entry["exc_info"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = record.stack_info
        entry.update(_trace_context())
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = value
        return jsonlib.dumps(entry, ensure_ascii=False, default=str)


def _trace_context() -> dict[str, str]:
    # Only when tracing was set up: importing OpenTelemetry here would defeat its lazy loading.
    trace_module = sys.modules.get("opentelemetry.trace")
    if trace_module is None:
        return {}
    context = trace_module.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"


def configure_logging(
    service: str,
    level: str = "INFO",
    json: bool = True,
    *,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send the root logger and uvicorn's loggers to one handler (JSON lines, or text).

    Calling it again replaces the handler it installed before; other handlers on the root logger
    (e.g. pytest's capture) are left alone. ``uvicorn.access`` is silenced: the ``access`` logger
    of :class:`MetricsMiddleware` replaces it with route templates and request ids.

    Args:
        service: Name written into every line.
        level: Root level (``DEBUG``, ``INFO`` …).
        json: JSON lines when true, human-readable text otherwise.
        stream: Where to write; standard output by default.

    Returns:
        The installed handler.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.addFilter(_ContextFilter(service))
    handler.setFormatter(JsonFormatter(service) if json else logging.Formatter(_TEXT_FORMAT))
    handler.set_name(f"common.observability:{service}")
    root = logging.getLogger()
    for existing in list(root.handlers):
        if (existing.get_name() or "").startswith("common.observability:"):
            root.removeHandler(existing)
            existing.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
    debug = root.level <= logging.DEBUG
    for name, quiet in CHATTY_LOGGERS.items():
        logging.getLogger(name).setLevel(logging.NOTSET if debug else quiet)
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers[:] = [logging.NullHandler()]  # no handler at all would mean logging.lastResort
    uvicorn_access.propagate = False
    access_logger.setLevel(logging.NOTSET)
    access_logger.propagate = True
    return handler
