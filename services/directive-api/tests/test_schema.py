"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from common.db import to_sync_url
from directive_api.models import Model, load_all_models


def test_migrations_match_the_models(database_url: str) -> None:
    load_all_models()
    engine = create_engine(to_sync_url(database_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            diff = compare_metadata(context, Model.metadata)
    finally:
        engine.dispose()
    assert diff == []
