"""The report-api application."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from importlib import resources

from fastapi import FastAPI
from sqlalchemy import func, select

from common.app import create_service_app
from common.db import utc_now
from common.observability import install_observability, table_count_callback
from common.outbox import configure_outbox
from common.production import enforce
from report_api.compliance.router import router as compliance_router
from report_api.events.models import DEAD_LETTER, OUTBOX, ReceivedEvent
from report_api.events.router import router as events_router
from report_api.followup.router import router as followup_router
from report_api.obligations.router import router as obligations_router
from report_api.pages.dashboard import router as dashboard_router
from report_api.pages.router import router as pages_router
from report_api.reminders.models import Timer
from report_api.reminders.router import router as reminders_router
from report_api.settings import Settings, get_settings, production_problems
from report_api.submissions.router import router as submissions_router
from report_api.webhooks.router import router as webhooks_router

PROBLEM_TYPE_BASE = "https://problems.cantho.local/"
"""Where the `type` URI of every problem this service answers starts (shared by both services)."""

DESCRIPTION = """
Compliance responses of the units a document is addressed to: acknowledgement, structured reports
and evidence, review, deadlines in working days, reminders and escalation, dashboards.

Every endpoint needs a bearer JWT (the webhook inbox: a Standard Webhooks signature; the dashboard
accepts the token as `?token=` too, for browsers); every error is `application/problem+json` (RFC 9457).
"""


async def _in_process_workers(app: FastAPI, stop: asyncio.Event) -> None:
    from report_api import workers

    await workers.run(app.state.sessionmaker, app.state.settings, stop, clock=app.state.clock)


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] = utc_now) -> FastAPI:
    """Build the application for ``settings`` (the environment's by default)."""
    settings = settings or get_settings()
    enforce(production_problems(settings))  # ENVIRONMENT=production: no development keys, secrets or PKI
    app = create_service_app(
        title="report-api",
        version="0.1.0",
        description=DESCRIPTION,
        database=settings.database,
        auth=settings.auth,
        routers=[
            events_router,
            obligations_router,
            submissions_router,
            reminders_router,
            compliance_router,
            followup_router,
            webhooks_router,
            dashboard_router,
            pages_router,
        ],
        background=_in_process_workers if settings.run_workers_in_process else None,
        problem_type_base=PROBLEM_TYPE_BASE,
        migrations=str(resources.files("report_api") / "migrations"),
        max_body_bytes=max(2_000_000, settings.evidence_max_bytes + 100_000),  # evidence uploads are multipart
        openapi_tags=[
            {"name": "units", "description": "What an addressee unit owes and answers."},
            {"name": "office", "description": "Review, extensions, reminders and compliance views of the Office."},
            {"name": "events", "description": "directive-api's webhooks in; report-api's event feed out."},
            {"name": "dashboard", "description": "HTML page for the Office."},
        ],
    )
    app.state.settings = settings
    configure_outbox(settings.webhooks)  # secrets at rest; relays woken when events commit
    install_observability(app, service="report-api", settings=settings.observability, outbox_models=OUTBOX)
    if settings.observability.metrics_enabled:
        table_count_callback(
            app,
            "timers_backlog",
            "Reminder and escalation timers past their due time, not yet fired",
            app.state.sessionmaker,
            select(func.count())
            .select_from(Timer)
            .where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None), Timer.due_at <= func.now()),
        )
        table_count_callback(
            app,
            "events_dead_lettered",
            "Events of directive-api's feed refused as unusable (dates out of range...) and skipped",
            app.state.sessionmaker,
            select(func.count()).select_from(ReceivedEvent).where(ReceivedEvent.channel == DEAD_LETTER),
        )
    app.state.clock = clock
    app.state.calendar = settings.calendar()
    year = clock().year
    app.state.calendar.preload(year, year + 1)
    return app
