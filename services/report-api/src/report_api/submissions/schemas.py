"""Request bodies of the submissions slice (the read views are the obligation detail's)."""

from __future__ import annotations

from typing import Any, Literal

from report_api.obligations.schemas import Comment, StrictModel


class SubmissionCreate(StrictModel):
    """A unit's report: the values of the template's fields (evidence fields list evidence ids)."""

    data: dict[str, Any]


class ReviewRequest(StrictModel):
    decision: Literal["accept", "return"]
    comment: Comment | None = None
