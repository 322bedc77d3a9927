"""The service's declarative base and the registry of every table (Alembic's target metadata)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import Enum
from sqlalchemy.orm import DeclarativeBase

from common.db import new_metadata


class Model(DeclarativeBase):
    """Base of every report-api table."""

    metadata = new_metadata()


def state_type(enum: type[StrEnum], length: int = 20) -> Enum:
    """A typed state column stored as ``VARCHAR(length)`` (its values are guarded by a CHECK of the table)."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


def sql_values(values: Iterable[str]) -> str:
    """``'a', 'b'``: the values of a CHECK constraint's ``IN`` list."""
    return ", ".join(f"'{v}'" for v in values)


def load_all_models() -> None:
    """Import every slice's models so that ``Model.metadata`` knows all tables."""
    from report_api.events import models as _events  # noqa: F401
    from report_api.followup import models as _followup  # noqa: F401
    from report_api.obligations import models as _obligations  # noqa: F401
    from report_api.pages import models as _pages  # noqa: F401
    from report_api.reminders import models as _reminders  # noqa: F401
    from report_api.submissions import models as _submissions  # noqa: F401
