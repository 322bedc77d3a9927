"""Bodies of the directory's read endpoints: units and groups."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
"""Codes, ids and search words never contain control characters (PostgreSQL refuses NUL in text)."""


class UnitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    short_name: str
    kind: str
    group_code: str | None
    parent_code: str | None
    organ_id: str | None
    organ_id_development: bool
    """The organ id was made up for development (seed data), not taken from the national list."""
    gso_code: str | None
    notation: str | None
    letterhead_parent: str | None = None
    """The letterhead's upper line (the supervising body, ``UBND THÀNH PHỐ CẦN THƠ``) of an issuer."""
    letterhead_name: str | None = None
    """The letterhead's name line of an issuer."""
    place_name: str | None = None
    """The place in the date line (``Cần Thơ, ngày …``)."""
    note: str | None = None
    is_active: bool = True
    version: int = 1


class GroupRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    is_addressable: bool
    version: int = 1


class GroupDetail(GroupRead):
    units: list[UnitRead]
