"""The service's declarative base and the registry of every table (Alembic's target metadata)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from common.db import new_metadata


class Model(DeclarativeBase):
    """Base of every report-api table."""

    metadata = new_metadata()


def load_all_models() -> None:
    """Import every domain's models so that ``Model.metadata`` knows all tables."""
    from report_api.followup import models as _followup  # noqa: F401
    from report_api.obligations import models as _obligations  # noqa: F401
