"""Bodies of the directory administration.

Each kind has one field set (``UnitFields``, ``GroupFields``, ``PersonFields``) from which the
create, change, read, export and import shapes are derived: a new column of the directory is
added once, to its field set, and the service, the history, JSON and CSV follow.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from common.pdf.results import CertificateError, load_certificate
from directive_api.directives.lifecycle import Role
from directive_api.orgs.schemas import UnitRead
from directive_api.people.models import SigningAuthority, SigningMode
from directive_api.people.schemas import PersonAdminRead as PersonAdminRead

UnitAdminRead = UnitRead
"""Every reader sees every field of a unit (none is confidential: the letterhead is printed)."""


def _clean(value: str) -> str:
    value = unicodedata.normalize("NFC", value)
    if re.search(r"[\x00-\x1f\x7f]", value):
        raise ValueError("control characters are not allowed")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_clean)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[^\s\x00-\x1f\x7f/?#%]+$")]
PersonId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\s\x00-\x1f\x7f/?#%]+$")]
TitleLine = Annotated[Text, StringConstraints(max_length=200)]
TitleLines = Annotated[list[TitleLine], Field(max_length=6)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnitFields(_Strict):
    """What an administrator sets on a unit (all optional: a change names only what changes)."""

    name: Annotated[Text, StringConstraints(max_length=300)] | None = None
    short_name: Annotated[Text, StringConstraints(max_length=200)] | None = None
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")] | None = None
    """``department``, ``ward``, ``commune``, ``socio_political_org``, ``office``, …"""
    group_code: Code | None = None
    """The group the unit belongs to (``commune_level``, …), which a letter can address at once."""
    parent_code: Code | None = None
    """The supervising body (cơ quan chủ quản)."""
    gso_code: Annotated[str, StringConstraints(pattern=r"^\d{5}$")] | None = None
    organ_id: Annotated[str, StringConstraints(pattern=r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")] | None = None
    """The unit's identifier on the national exchange (QCVN 102:2016, ``000.00.00.H13``); one per unit.
    Setting it marks it official (``organ_id_development`` false)."""
    notation: Annotated[str, StringConstraints(pattern=r"^[A-ZĐ0-9]{1,20}$")] | None = None
    """Set when the unit issues documents with its own notation (``VPUB``, ``UBND``)."""
    letterhead_parent: Annotated[Text, StringConstraints(max_length=200)] | None = None
    letterhead_name: Annotated[Text, StringConstraints(max_length=200)] | None = None
    place_name: Annotated[Text, StringConstraints(max_length=100)] | None = None
    note: Annotated[Text, StringConstraints(max_length=2000)] | None = None
    is_active: bool | None = None
    """False retires the unit: kept for the documents that name it, offered for nothing new."""


class UnitCreate(UnitFields):
    code: Code
    name: Annotated[Text, StringConstraints(max_length=300)]
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]


class UnitEntry(UnitFields):
    """A unit in an import or export: its code, and the fields to set (all of them when it is new)."""

    code: Code


class GroupFields(_Strict):
    name: Annotated[Text, StringConstraints(max_length=300)] | None = None
    """How the group is written in a letter's ``Kính gửi`` list."""
    is_addressable: bool | None = None
    """False for groups that only receive information copies."""


class GroupCreate(GroupFields):
    code: Code
    name: Annotated[Text, StringConstraints(max_length=300)]


class GroupEntry(GroupFields):
    code: Code


class GroupAdminRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    is_addressable: bool
    version: int


def _check_titles(titles: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
    if titles is None:
        return None
    for authority, lines in titles.items():
        if not lines or not any(line.startswith(f"{authority} ") for line in lines):
            raise ValueError(f"the block for {authority} must have a line starting with '{authority} '")
    return titles


def _check_certificate(pem: str | None) -> str | None:
    if pem is None:
        return None
    if not pem.lstrip().startswith("-----BEGIN CERTIFICATE-----"):
        raise ValueError("a PEM certificate (-----BEGIN CERTIFICATE-----) is expected")
    try:
        load_certificate(pem.encode())
    except CertificateError:
        raise ValueError("not a readable X.509 certificate") from None
    return pem.strip() + "\n"


class PersonFields(_Strict):
    full_name: Annotated[Text, StringConstraints(max_length=100)] | None = None
    unit_code: Code | None = None
    position: Annotated[Text, StringConstraints(max_length=200)] | None = None
    """The position as written in prose (``Phó Chủ tịch Ủy ban nhân dân thành phố``)."""
    division: Annotated[str, StringConstraints(pattern=r"^[A-ZĐ0-9]{1,20}$")] | None = None
    roles: Annotated[list[Role], Field(max_length=9)] | None = None
    signature_title_lines: TitleLines | None = None
    """The default signature block above the name, upper case (``["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]``)."""
    signature_titles: Annotated[dict[SigningAuthority, TitleLines], AfterValidator(_check_titles)] | None = None
    """The block per signing authority (``TM.``, ``KT.``, ``TL.``, ``TUQ.``, ``Q.``); each has a line
    that starts with its authority."""
    is_active: bool | None = None
    """False retires the person: documents keep naming them; they can be chosen for nothing new."""
    signing_mode: SigningMode | None = None
    """How the person's signature is made: ``server`` (a key the server holds; the default),
    ``client`` (their own token, through a signing request) or ``remote`` (a remote signing service)."""
    signing_certificate: (
        Annotated[str, StringConstraints(max_length=20_000), AfterValidator(_check_certificate)] | None
    ) = None
    """The person's signing certificate (PEM) for ``client`` and ``remote``: only a signature made with
    this certificate's key is accepted for them."""


class PersonCreate(PersonFields):
    id: PersonId
    full_name: Annotated[Text, StringConstraints(max_length=100)]
    unit_code: Code
    position: Annotated[Text, StringConstraints(max_length=200)]
    roles: Annotated[list[Role], Field(max_length=9)]


class PersonEntry(PersonFields):
    id: PersonId


class DirectoryChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: Literal["unit", "group", "person"]
    key: str
    action: str
    version: int | None
    actor_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime


class DirectoryDocument(_Strict):
    """The whole directory (export), or the entries to create or overwrite (import)."""

    groups: Annotated[list[GroupEntry], Field(max_length=1000)] = Field(default_factory=list)
    units: Annotated[list[UnitEntry], Field(max_length=20000)] = Field(default_factory=list)
    people: Annotated[list[PersonEntry], Field(max_length=20000)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_keys(self) -> DirectoryDocument:
        for name, keys in (
            ("groups", [g.code for g in self.groups]),
            ("units", [u.code for u in self.units]),
            ("people", [p.id for p in self.people]),
        ):
            if len(keys) != len(set(keys)):
                raise ValueError(f"{name}: each code or id may appear once")
        return self


class ImportResult(BaseModel):
    created: int
    updated: int
    unchanged: int
