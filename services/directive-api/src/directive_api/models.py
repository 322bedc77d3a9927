"""The service's declarative base and the registry of every table (Alembic's target metadata)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from common.db import new_metadata


class Model(DeclarativeBase):
    """Base of every directive-api table."""

    metadata = new_metadata()


def load_all_models() -> None:
    """Import every domain's models so that ``Model.metadata`` knows all tables."""
    from directive_api.deliveries import models as _deliveries  # noqa: F401
    from directive_api.directives import models as _directives  # noqa: F401
    from directive_api.events import models as _events  # noqa: F401
    from directive_api.exchange import models as _exchange  # noqa: F401
    from directive_api.orgs import models as _orgs  # noqa: F401
    from directive_api.pdfs import models as _pdfs  # noqa: F401
    from directive_api.people import models as _people  # noqa: F401
    from directive_api.signing import models as _signing  # noqa: F401
