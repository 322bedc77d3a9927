"""The report-api application."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from common.app import create_service_app
from common.db import utc_now
from report_api.settings import Settings, get_settings

DESCRIPTION = """
Compliance responses of the units a document is addressed to: acknowledgement, structured reports
and evidence, review, deadlines in working days, reminders and escalation, dashboards.

Every endpoint needs a bearer JWT; every error is `application/problem+json` (RFC 9457).
"""


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] = utc_now) -> FastAPI:
    """Build the application for ``settings`` (the environment's by default)."""
    settings = settings or get_settings()
    app = create_service_app(
        title="report-api",
        version="0.1.0",
        description=DESCRIPTION,
        database=settings.database,
        auth=settings.auth,
        routers=[],
    )
    app.state.settings = settings
    app.state.clock = clock
    return app
