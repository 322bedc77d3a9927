"""Problems of the event feed, the webhook subscriptions and the one read rule (visibility.py)."""

from __future__ import annotations

from common.outbox.ownership import SubscriptionNotFoundError as SubscriptionNotFoundError
from common.outbox.ownership import UnsafeWebhookUrlError as UnsafeWebhookUrlError
from common.problems import ForbiddenError, NotFoundError


class DirectiveNotFoundError(NotFoundError):
    """No such document, or one the caller may not read (its existence is not disclosed): one
    problem type wherever a document is looked up (re-exported by ``pdfs.errors`` and
    ``directives.errors``)."""

    title = "Document not found"


class DirectiveNotVisibleError(ForbiddenError):
    title = "This document is not visible to your unit yet"
