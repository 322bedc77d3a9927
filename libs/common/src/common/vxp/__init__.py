"""The VXP document-exchange protocol (VNPT SDKVXP 2.0.x wire format): a client and a local hub double.

Domain-free: packages are opaque edXML bytes; routing uses organ ids. ``client`` speaks to a hub the
way the vendor SDK does (``XroadVnpt-*`` headers signed with HMAC-SHA256 over the received
sign-header string); ``hub`` is a stand-alone double of the hub for tests and ``make run``.
"""

from common.vxp.protocol import (
    Knobstick,
    SentRow,
    VxpError,
    VxpUnreachable,
    hash_file,
    sign_headers,
    signed_header_string,
)

__all__ = ["Knobstick", "SentRow", "VxpError", "VxpUnreachable", "hash_file", "sign_headers", "signed_header_string"]
