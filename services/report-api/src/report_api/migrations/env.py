"""Alembic environment of report-api (the shared one: common.migrations)."""

from __future__ import annotations

from common.migrations import run_migrations
from report_api.models import Model, load_all_models
from report_api.settings import Settings

load_all_models()
run_migrations(Model.metadata, service="report-api", default_url=lambda: Settings().database.url)
