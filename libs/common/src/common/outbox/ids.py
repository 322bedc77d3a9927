"""Sortable unique ids of outbox rows (ULIDs with a type prefix)."""

from __future__ import annotations

import os
import time

__all__ = ["new_id"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str) -> str:
    """A sortable unique id: ``<prefix>_`` followed by a ULID (48-bit ms time + 80 random bits).

    Args:
        prefix: ``evt``, ``sub``, ``dlv``, ``att`` …

    Returns:
        e.g. ``evt_01JD3Q…`` (26 Crockford base32 characters after the underscore).
    """
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"
