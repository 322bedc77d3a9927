"""The directive-api application."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import datetime
from functools import partial
from importlib import resources

from fastapi import FastAPI

from common.app import create_service_app
from common.db import utc_now
from common.observability import install_observability
from common.outbox import configure_outbox
from common.pdf.pool import configure_default_executor, shutdown_render_executor, start_workers
from common.production import enforce
from directive_api.deliveries.router import router as deliveries_router
from directive_api.directives.router import router as directives_router
from directive_api.directives.service import ENGINE as DIRECTIVE_ENGINE
from directive_api.directory.router import router as directory_router
from directive_api.events.models import OUTBOX
from directive_api.events.router import router as events_router
from directive_api.exchange import received
from directive_api.exchange import service as exchange
from directive_api.exchange.router import router as exchange_router
from directive_api.orgs.router import router as orgs_router
from directive_api.pdfs.router import router as pdfs_router
from directive_api.pdfs.service import PdfContext
from directive_api.people.router import router as people_router
from directive_api.settings import Settings, get_settings, production_problems
from directive_api.signing.router import router as signing_router

PROBLEM_TYPE_BASE = "https://problems.cantho.local/"
"""Where the `type` URI of every problem this service answers starts (shared by both services)."""

DESCRIPTION = """
The life of an official document of a Vietnamese government office (Decree 30/2020/NĐ-CP):
drafting, the approval chain up to the designated signer, numbering in the year's register and
issue by the clerk.

Every endpoint needs a bearer JWT (`Authorization: Bearer …`) whose claims carry `sub` (person id),
`roles` and `unit`. Every error is `application/problem+json` (RFC 9457). Updates and transitions
need `If-Match` with the ETag last read; creation accepts `Idempotency-Key`.
"""

_ATTACHMENT_UPLOAD = re.compile(r"/v1/directives/[^/]+/attachments")
"""The upload of a tài liệu kèm theo, capped by the route itself (MAX_ATTACHMENT_BYTES)."""


async def _in_process_workers(app: FastAPI, stop: asyncio.Event) -> None:
    from directive_api import workers

    await workers.run(app.state.sessionmaker, app.state.settings, stop, clock=app.state.clock)


def _warm_pdf_workers(app: FastAPI) -> None:
    """Size the PDF worker pool (``PDF_WORKERS``) and start its processes at start-up, each warming up
    (fonts, a throw-away render, the keys, a throw-away signature and seal) so that the first approval
    does not pay for it. Not awaited: the service is ready at once, a job sent meanwhile waits for a
    warm worker."""
    pdf: PdfContext = app.state.pdf
    configure_default_executor(app.state.settings.pdf_workers, warm_up=pdf.keys.warm_up())
    start_workers()


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] = utc_now) -> FastAPI:
    """Build the application for ``settings`` (the environment's by default)."""
    settings = settings or get_settings()
    enforce(production_problems(settings))  # ENVIRONMENT=production: no development keys, secrets or PKI
    app = create_service_app(
        title="directive-api",
        version="0.1.0",
        description=DESCRIPTION,
        database=settings.database,
        auth=settings.auth,
        routers=[
            directives_router,
            pdfs_router,
            deliveries_router,
            events_router,
            exchange_router,
            orgs_router,
            people_router,
            directory_router,
            signing_router,
        ],
        background=_in_process_workers if settings.run_workers_in_process else None,
        on_startup=_warm_pdf_workers,
        # Stop the PDF workers with the app: their queues' semaphores are released, not reported
        # as leaked by multiprocessing's resource tracker when the process exits.
        on_shutdown=lambda _: shutdown_render_executor(),
        problem_type_base=PROBLEM_TYPE_BASE,
        migrations=str(resources.files("directive_api") / "migrations"),
        max_body_bytes=settings.max_request_bytes,
        # They stream files under their own caps (attachments up to 20 MB, not the 2 MB of a request).
        body_limit_exempt=("/v1/verify", "/v1/edxml/", _ATTACHMENT_UPLOAD),
        openapi_tags=[
            {"name": "directives", "description": "Documents and their workflow."},
            {"name": "registers", "description": "Numbering registers (sổ đăng ký văn bản đi)."},
            {"name": "directory", "description": "Units and groups of units."},
            {"name": "people", "description": "Staff and their signature blocks."},
            {
                "name": "directory administration",
                "description": "Units, groups and people changed by the Office's admins; history, import, export.",
            },
            {"name": "documents", "description": "PDFs: preview, signed, issued; verification of uploaded files."},
            {"name": "public", "description": "The verification page behind the QR code (no login)."},
            {"name": "dispatch", "description": "Recipients and their delivery status."},
            {
                "name": "events",
                "description": "Event feed, webhook subscriptions, and the inbox of report-api's events.",
            },
            {"name": "edxml", "description": "edXML (QCVN 102:2016) exchange with e-office systems."},
        ],
    )
    app.state.settings = settings
    configure_outbox(settings.webhooks)  # secrets at rest; relays woken when events commit
    install_observability(app, service="directive-api", settings=settings.observability, outbox_models=OUTBOX)
    app.state.clock = clock
    app.state.pdf = PdfContext.from_settings(settings)
    app.state.workflow = DIRECTIVE_ENGINE  # for slices below the directive slice (signing)
    # report-api's events about documents that reached us over the exchange go back to their sender.
    app.state.unmatched_compliance = received.answer_compliance
    # The Office's acceptance of a unit's report closes the unit's reply: 06 goes back to it.
    app.state.matched_compliance = partial(exchange.answer_reply_done, settings=settings, store=app.state.pdf.store)
    return app
