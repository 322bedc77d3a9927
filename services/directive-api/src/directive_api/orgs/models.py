"""The organisation directory: units and the groups that address many of them at once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from common.db import JSONType, UTCDateTime
from directive_api.models import Model


class UnitGroup(Model):
    """A named set of units, e.g. all commune-level People's Committees."""

    __tablename__ = "unit_groups"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    """How the group is written in a letter's ``Kính gửi`` list."""
    is_addressable: Mapped[bool] = mapped_column(default=True)
    """False for groups that only receive information copies (Nơi nhận)."""
    version: Mapped[int] = mapped_column(default=1)
    """Incremented on every change made through the directory administration (the ETag)."""

    # Updates and deletes are conditional on the version read (``WHERE version = …``): of two
    # administrators changing the same entry at once, the second gets 412, not a lost update.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012


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
    """False once retired: kept for the documents that name it, offered for nothing new."""
    version: Mapped[int] = mapped_column(default=1)
    """Incremented on every change made through the directory administration (the ETag)."""

    # Updates and deletes are conditional on the version read (``WHERE version = …``): of two
    # administrators changing the same entry at once, the second gets 412, not a lost update.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012


class DirectoryChange(Model):
    """One change of the directory made by an administrator (or an import): who, when, before, after."""

    __tablename__ = "directory_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    """``unit``, ``group`` or ``person``."""
    key: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(20))
    """``create``, ``update``, ``retire``, ``delete`` or ``import``."""
    version: Mapped[int | None] = mapped_column()
    actor_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_directory_changes_kind_key", "kind", "key"),)


class DirectorySeedMark(Model):
    """A directory entry the seed has provided once: seeding never provides it again, so an entry
    an administrator changed or deleted stays as the administrator left it."""

    __tablename__ = "directory_seed_marks"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
