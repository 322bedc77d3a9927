"""Alembic environment of directive-api (the shared one: common.migrations)."""

from __future__ import annotations

from common.migrations import run_migrations
from directive_api.models import Model, load_all_models
from directive_api.settings import Settings

load_all_models()
run_migrations(Model.metadata, service="directive-api", default_url=lambda: Settings().database.url)
