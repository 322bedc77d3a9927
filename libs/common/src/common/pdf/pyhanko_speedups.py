"""A faster reader for pyHanko's PDF hex strings, with the same results and errors as the original.

pyHanko (0.x) reads a hex string ``<…>`` one byte at a time through a generator. A signature's
``/Contents`` is such a string, several thousand digits long, and every reader of a signed file
parses it: signing the next revision, filling, verifying (each signature, and again in the diff
analysis of each later revision). Measured on the issued seed letter (two signatures), the byte loop
was about a quarter of ``verify_pdf``'s time.

:func:`install` replaces ``pyhanko.pdf_utils.generic.read_hex_string_from_stream`` with
:func:`read_hex_string_from_stream`, which finds the closing ``>`` with one ``bytes.find`` and
decodes the digits with ``binascii``. Any input it does not handle in that simple form (a comment
inside the string, a byte that is neither a hex digit nor PDF whitespace, no closing ``>``) is
handed back to pyHanko's original reader from the same position, so errors and edge cases stay
pyHanko's own; ``libs/common/tests/pdf/test_pyhanko_speedups.py`` compares both on generated input.
"""

from __future__ import annotations

import binascii
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PDF_WHITESPACE

__all__ = ["install", "original_read_hex_string_from_stream", "read_hex_string_from_stream"]

original_read_hex_string_from_stream = generic.read_hex_string_from_stream
"""pyHanko's own reader, kept for fallbacks and for the equivalence tests."""

_HEX_DIGITS = b"0123456789abcdefABCDEF"
_CHUNK = 16_384


def read_hex_string_from_stream(stream: Any) -> Any:
    """Read a PDF hex string (the stream is at its ``<``); same contract as pyHanko's reader."""
    start = stream.tell()
    stream.read(1)
    chunks: list[bytes] = []
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        end = chunk.find(b">")
        if end < 0:
            chunks.append(chunk)
            continue
        chunks.append(chunk[:end])
        digits = b"".join(chunks)
        if b"%" in digits:
            break
        digits = digits.translate(None, PDF_WHITESPACE)
        if digits.translate(None, _HEX_DIGITS):
            break
        stream.seek(end + 1 - len(chunk), 1)
        if len(digits) % 2:
            digits += b"0"
        return generic.pdf_string(binascii.unhexlify(digits))
    stream.seek(start)
    return original_read_hex_string_from_stream(stream)


def install() -> None:
    """Make pyHanko's object parser use :func:`read_hex_string_from_stream` (idempotent)."""
    generic.read_hex_string_from_stream = read_hex_string_from_stream
