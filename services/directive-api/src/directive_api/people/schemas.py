"""Bodies of the people read endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PersonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    full_name: str
    unit_code: str
    position: str
    division: str | None
    roles: list[str]
    signature_title_lines: list[str]
    """The default signature block above the name."""
    signature_titles: dict[str, list[str]] = {}
    """Signature blocks by signing authority (``TM.``, ``KT.``, ``TL.``, ``TUQ.``, ``Q.``)."""
    is_active: bool = True
    version: int = 1


class PersonAdminRead(PersonRead):
    """A person as the Office's directory administrators read it: with how their signature is made."""

    signing_mode: str
    """``server`` (the service's key), ``client`` (their own token) or ``remote`` (a remote signing service)."""
    signing_certificate: str | None
    """The signing certificate (PEM) the directory names for ``client`` and ``remote``."""
