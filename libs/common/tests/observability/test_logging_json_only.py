"""Logs are JSON only: no terminal colour codes, and libraries' chatter only at DEBUG."""

from __future__ import annotations

import io
import json
import logging

from common.observability import configure_logging


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_uvicorn_colour_copy_and_library_chatter_stay_out() -> None:
    stream = io.StringIO()
    handler = configure_logging("test", "INFO", stream=stream)
    try:
        logging.getLogger("uvicorn.error").info(
            "Started server process [%d]", 1, extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"}
        )
        logging.getLogger("httpx").info('HTTP Request: POST http://report-api:8002/v1/inbox/events "HTTP/1.1 204"')
        logging.getLogger("weasyprint").warning("Ignored `hyphens: auto` at 3:5, unknown property.")
        logging.getLogger("httpx").warning("kept: a warning of httpx")
        lines = _lines(stream)
        assert [line["message"] for line in lines] == ["Started server process [1]", "kept: a warning of httpx"]
        assert "color_message" not in lines[0]
        assert "\x1b" not in stream.getvalue()

        stream.truncate(0)
        stream.seek(0)
        configure_logging("test", "DEBUG", stream=stream)
        logging.getLogger("httpx").info("HTTP Request: GET http://directive-api:8001/v1/events")
        assert [line["message"] for line in _lines(stream)] == ["HTTP Request: GET http://directive-api:8001/v1/events"]
    finally:
        root = logging.getLogger()
        for existing in list(root.handlers):
            if (existing.get_name() or "").startswith("common.observability:"):
                root.removeHandler(existing)
        handler.close()
        root.setLevel(logging.WARNING)
        for name in ("httpx", "httpcore", "weasyprint", "fontTools"):
            logging.getLogger(name).setLevel(logging.NOTSET)
