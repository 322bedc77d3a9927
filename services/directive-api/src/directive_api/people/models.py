"""People and their positions: who drafts, reviews, signs and issues."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from common.db import JSONType
from directive_api.models import Model

SigningAuthority = Literal["TM.", "KT.", "TL.", "TUQ.", "Q."]
"""Under whose authority a document is signed (Decree 30, Art. 13): on behalf of a collective body,
for the head, by order, by written delegation, as acting head."""

SIGNING_AUTHORITIES: tuple[str, ...] = ("TM.", "KT.", "TL.", "TUQ.", "Q.")

SigningMode = Literal["server", "client", "remote"]
"""How a person's signature is made: ``server`` — a key the server holds for them (the development
PKI, or a PKCS#12/PKCS#11 key configured in ``SIGNING__SIGNERS``); ``client`` — the person's own
token, through their signing client (a signing request); ``remote`` — a remote signing service (CSC
API v2)."""

SIGNING_MODES: tuple[str, ...] = ("server", "client", "remote")


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
    signature_titles: Mapped[dict[str, list[str]]] = mapped_column(JSONType, default=dict)
    """Signature blocks by signing authority (``TM.``, ``KT.``, ``TL.``, ``TUQ.``, ``Q.``), e.g. a Phó
    Chủ tịch's ``{"TM.": ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]}``; a document
    names the authority it is signed under, else ``signature_title_lines`` applies."""
    signing_mode: Mapped[str] = mapped_column(String(10), default="server", server_default="server")
    signing_certificate: Mapped[str | None] = mapped_column(Text)
    """The person's signing certificate (PEM) for ``client`` and ``remote`` modes: the only one whose
    signature is accepted for them."""
    is_active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    """Incremented on every change made through the directory administration (the ETag)."""

    # Updates and deletes are conditional on the version read (``WHERE version = …``): of two
    # administrators changing the same entry at once, the second gets 412, not a lost update.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (used by the seed loader's comparisons)."""
        return {c.name: getattr(self, c.name) for c in self.__table__.columns}
