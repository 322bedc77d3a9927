"""What a process that writes or relays events sets up once at start-up."""

from __future__ import annotations

from common.outbox.secrets import use_secret_keys
from common.outbox.settings import WebhookSettings
from common.outbox.wake import register_session_listeners

__all__ = ["configure_outbox"]


def configure_outbox(settings: WebhookSettings) -> None:
    """Encrypt endpoint secrets with the configured keys and wake relays when events commit.

    Call it in the service's ``create_app`` (a :class:`common.outbox.Relay` calls it itself);
    calling it again is harmless.
    """
    use_secret_keys([k.get_secret_value() for k in settings.secrets_keys])
    register_session_listeners()
