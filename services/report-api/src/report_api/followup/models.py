"""The service's ``idempotency_keys`` table (bulk actions replay their first answer per key)."""

from __future__ import annotations

from common.http import IdempotencyRecordMixin
from report_api.models import Model


class IdempotencyRecord(IdempotencyRecordMixin, Model):
    """Responses remembered per ``Idempotency-Key``, caller and endpoint."""

    __tablename__ = "idempotency_keys"
