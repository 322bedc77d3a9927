"""Wire details shared by the client and the hub double (design reference: VXP SDK 2.0.1).

Every logical header ``N`` travels as ``XroadVnpt-N``. The caller signs a compact JSON object of
those headers (``XroadVnpt-sign-header``), lists their bare names (``XroadVnpt-sign-header-key``)
and sends the lowercase hex HMAC-SHA256 of that JSON string under its shared secret
(``XroadVnpt-hash-header``). The secret itself never travels.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

PREFIX = "XroadVnpt-"
SIGN_HEADER = PREFIX + "sign-header"
SIGN_HEADER_KEY = PREFIX + "sign-header-key"
HASH_HEADER = PREFIX + "hash-header"
VERSION = "3.0.201608"
USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
MESSAGE_TYPES = ("edoc", "status")
ACK_STATUSES = ("done", "fail", "processing", "inbox", "acceptance", "rejection", "assignment", "cancellation")
"""Values ``/updateStatus`` accepts; ``done`` and ``fail`` take a package out of the inbox."""


class VxpError(Exception):
    """The hub answered FAIL (or something that is not the protocol's envelope)."""

    def __init__(self, operation: str, error_code: str | None, description: str | None) -> None:
        super().__init__(f"{operation}: {error_code or '?'} {description or ''}".strip())
        self.operation = operation
        self.error_code = error_code
        self.description = description


class VxpUnreachable(VxpError):
    """The hub could not be reached or did not answer in time (no envelope at all)."""

    def __init__(self, operation: str, description: str) -> None:
        super().__init__(operation, None, description)


@dataclass(frozen=True)
class Knobstick:
    """One package waiting in an inbox (``getReceivedEdocList`` item)."""

    doc_id: str
    message_type: str
    sender: str
    recipient: str
    status: str
    created_time: str


@dataclass(frozen=True)
class SentRow:
    """One recipient of a sent package (``getSentEdocList`` item)."""

    sender_doc_id: str
    receiver_doc_id: str
    from_code: str
    to_code: str
    receive_status: str


def timestamp(now: datetime) -> str:
    """The SDK's ``ddMMyyyyTHHmmss+SSSS`` (the last field is milliseconds, not a zone)."""
    return now.strftime("%d%m%YT%H%M%S") + f"+{now.microsecond // 1000:04d}"


def hash_file(data: bytes) -> str:
    """``hash-file``: SHA-256 as lowercase hex without zero-padding per byte, as the SDK writes it."""
    return "".join(format(b, "x") for b in hashlib.sha256(data).digest())


def signed_header_string(headers: Mapping[str, str]) -> str:
    """The compact JSON of the logical headers, each under its ``XroadVnpt-`` name, in order."""
    return json.dumps({PREFIX + name: value for name, value in headers.items()}, separators=(",", ":"))


def hmac_hex(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def sign_headers(headers: Mapping[str, str], secret: str) -> dict[str, str]:
    """The HTTP headers of one call: every logical header prefixed, plus the three signature headers."""
    signed = signed_header_string(headers)
    out = {PREFIX + name: value for name, value in headers.items()}
    out.update(
        {
            SIGN_HEADER: signed,
            SIGN_HEADER_KEY: ";".join(headers),
            HASH_HEADER: hmac_hex(secret, signed),
            PREFIX + "version": VERSION,
            "User-Agent": USER_AGENT,
        }
    )
    return out
