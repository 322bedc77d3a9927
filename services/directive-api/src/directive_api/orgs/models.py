"""The organisation directory: units and the groups that address many of them at once."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from directive_api.models import Model


class UnitGroup(Model):
    """A named set of units, e.g. all commune-level People's Committees."""

    __tablename__ = "unit_groups"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    """How the group is written in a letter's ``Kính gửi`` list."""
    is_addressable: Mapped[bool] = mapped_column(default=True)
    """False for groups that only receive information copies (Nơi nhận)."""


class Unit(Model):
    """An organisation that issues or receives documents."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    group_code: Mapped[str | None] = mapped_column(ForeignKey("unit_groups.code"), index=True)
    parent_code: Mapped[str | None] = mapped_column(String(40))
    organ_id: Mapped[str | None] = mapped_column(String(35))
    gso_code: Mapped[str | None] = mapped_column(String(10))
    notation: Mapped[str | None] = mapped_column(String(20))
    """Abbreviation used in document notations (``VPUB``) when the unit issues documents."""
    letterhead_parent: Mapped[str | None] = mapped_column(String(200))
    letterhead_name: Mapped[str | None] = mapped_column(String(200))
    place_name: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
