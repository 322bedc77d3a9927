"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from common.testing import schema_drift
from directive_api.models import Model, load_all_models


def test_migrations_match_the_models(database_url: str) -> None:
    load_all_models()
    assert schema_drift(database_url, Model.metadata) == []
