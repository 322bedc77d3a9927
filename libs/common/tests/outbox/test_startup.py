"""The outbox's session listeners are registered by the start-up call, never by an import."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
from sqlalchemy import event
from sqlalchemy.orm import Session
import common.outbox
from common.outbox import wake
def registered():
    return [name for name, fn in wake._LISTENERS if event.contains(Session, name, fn)]
print(registered())
common.outbox.configure_outbox(common.outbox.WebhookSettings())
common.outbox.configure_outbox(common.outbox.WebhookSettings())
print(registered())
"""


def test_importing_the_outbox_registers_nothing_and_configure_registers_each_listener_once() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "[]"
    assert out[1] == "['before_commit', 'after_commit', 'after_rollback']"
