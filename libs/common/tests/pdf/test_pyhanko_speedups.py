"""The fast hex-string reader gives exactly what pyHanko's own reader gives: value, position, errors."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic

from common.pdf import pyhanko_speedups
from common.pdf.pyhanko_speedups import original_read_hex_string_from_stream, read_hex_string_from_stream

_PIECES = st.sampled_from(
    [b"0", b"7", b"a", b"F", b"e9", b" ", b"\n", b"\r\n", b"\t", b"\x00", b"\x0c", b">", b"%", b"% c\n", b"g", b"<"]
)


def _outcome(reader: object, data: bytes) -> tuple[object, ...]:
    stream = io.BytesIO(data)
    try:
        value = reader(stream)  # type: ignore[operator]
    except Exception as exc:
        return ("error", type(exc), str(exc))
    return ("ok", type(value), bytes(value.original_bytes), stream.tell())


@settings(max_examples=1500, deadline=None)
@given(body=st.lists(_PIECES, max_size=40).map(b"".join), tail=st.binary(max_size=8))
def test_same_result_as_pyhanko(body: bytes, tail: bytes) -> None:
    data = b"<" + body + tail
    assert _outcome(read_hex_string_from_stream, data) == _outcome(original_read_hex_string_from_stream, data)


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(min_size=0, max_size=40_000))
def test_long_signature_contents(payload: bytes) -> None:
    """Strings longer than one read chunk, like a signature's /Contents, decode to the same bytes."""
    data = b"<" + payload.hex().upper().encode() + b">\n/ByteRange [0 1 2 3]"
    fast = _outcome(read_hex_string_from_stream, data)
    assert fast == _outcome(original_read_hex_string_from_stream, data)
    assert fast[2] == payload


def test_installed_into_pyhanko_parser() -> None:
    pyhanko_speedups.install()
    assert generic.read_hex_string_from_stream is read_hex_string_from_stream
    parsed = generic.read_object(io.BytesIO(b"<48 65 6C 6C 6F 2>"), container_ref=None)  # type: ignore[arg-type]
    assert bytes(parsed.original_bytes) == b"Hello "
