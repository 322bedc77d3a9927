"""Problems of the webhook subscriptions."""

from __future__ import annotations

from common.outbox.ownership import SubscriptionNotFoundError as SubscriptionNotFoundError  # shared with directive-api
from common.outbox.ownership import UnsafeWebhookUrlError as UnsafeWebhookUrlError
from common.problems import NotFoundError


class DeliveryNotFoundError(NotFoundError):
    title = "Delivery not found"
