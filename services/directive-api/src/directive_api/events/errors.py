"""Problems of the event feed, the webhook subscriptions and the one read rule (visibility.py)."""

from __future__ import annotations

from common.problems import ForbiddenError, NotFoundError, UnprocessableError


class DirectiveNotFoundError(NotFoundError):
    """Also what a caller gets for a document it may not read: its existence is not disclosed."""

    title = "Document not found"


class DirectiveNotVisibleError(ForbiddenError):
    title = "This document is not visible to your unit yet"


class SubscriptionNotFoundError(NotFoundError):
    title = "Subscription not found"


class UnsafeWebhookUrlError(UnprocessableError):
    title = "The webhook URL is not allowed"
