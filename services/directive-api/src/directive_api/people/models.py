"""People and their positions: who drafts, reviews, signs and issues."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from common.db import JSONType
from directive_api.models import Model


class Person(Model):
    """A member of staff known to the directory."""

    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(100))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    position: Mapped[str] = mapped_column(String(200))
    """The position as written in prose, e.g. ``Phó Chánh Văn phòng``."""
    division: Mapped[str | None] = mapped_column(String(20))
    """Abbreviation of the person's division inside the unit (``TTĐH``)."""
    roles: Mapped[list[str]] = mapped_column(JSONType, default=list)
    signature_title_lines: Mapped[list[str]] = mapped_column(JSONType, default=list)
    """The signature block above the name, e.g. ``["KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG"]``."""
    is_active: Mapped[bool] = mapped_column(default=True)

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (used by the seed loader's comparisons)."""
        return {c.name: getattr(self, c.name) for c in self.__table__.columns}
