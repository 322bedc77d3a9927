"""Problems of the events slice: directive-api's webhooks in."""

from __future__ import annotations

from common.problems import BadRequestError, NotAuthenticatedError, ServiceUnavailableError


class WebhookRejectedError(NotAuthenticatedError):
    title = "The webhook signature was not accepted"


class WebhookNotConfiguredError(ServiceUnavailableError):
    title = "No webhook secret is configured"


class EventInvalidError(BadRequestError):
    title = "The event is not understood"
