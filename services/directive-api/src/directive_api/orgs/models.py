"""The organisation directory: units and the groups that address many of them at once."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, false
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
    organ_id: Mapped[str | None] = mapped_column(String(35), unique=True)
    """Electronic identifier on the national document exchange (QCVN 102:2016 ``000.00.00.H13``, or
    the QĐ 20/2020 form): packages are addressed to it and partners are recognised by it."""
    organ_id_development: Mapped[bool] = mapped_column(default=False, server_default=false())
    """The identifier was made up for development (seed data), not taken from the national list."""
    gso_code: Mapped[str | None] = mapped_column(String(10))
    notation: Mapped[str | None] = mapped_column(String(20))
    """Abbreviation used in document notations (``VPUB``) when the unit issues documents."""
    letterhead_parent: Mapped[str | None] = mapped_column(String(200))
    letterhead_name: Mapped[str | None] = mapped_column(String(200))
    place_name: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
