"""Problems of the webhook subscriptions."""

from __future__ import annotations

from common.problems import NotFoundError, UnprocessableError


class SubscriptionNotFoundError(NotFoundError):
    title = "Subscription not found"


class DeliveryNotFoundError(NotFoundError):
    title = "Delivery not found"


class UnsafeWebhookUrlError(UnprocessableError):
    title = "The webhook URL is not allowed"
