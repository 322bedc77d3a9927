"""Tables of the pages: the sessions ended by signing out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from common.db import UTCDateTime
from report_api.models import Model


class RevokedPageSession(Model):
    """A session signed out before its cookie expires: the cookie (signed, so valid until ``exp``)
    is refused from then on. Rows are useless after ``expires_at`` and are purged at sign-out."""

    __tablename__ = "page_session_revocations"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
