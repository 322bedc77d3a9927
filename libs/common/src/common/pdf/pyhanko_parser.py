"""A faster reader of PDF objects for pyHanko: the same objects, read with regular expressions.

pyHanko (0.x) parses PDF syntax one byte at a time through ``stream.read(1)``: about 6 µs per
token. Verifying the issued seed letter reads some 1,800 tokens (mostly the fonts' width arrays)
and that was 40 % of ``verify_pdf``'s time; signing and filling read the file too.

:func:`read_object` replaces ``pyhanko.pdf_utils.generic.read_object`` for objects read from an
in-memory file (``io.BytesIO``, as pyHanko's reader and its object streams use). It matches tokens
with compiled patterns directly on the file's buffer and builds the same objects pyHanko's reader
builds: dictionaries, arrays, names, integers, reals, references, booleans, null and literal
strings without escapes, each with the same ``container_ref``; a dictionary followed by ``stream``,
other literal strings and hex strings are handed to pyHanko's own code at the same position.

:func:`get_object_from_stream` replaces ``PdfFileReader._get_object_from_stream``, which read the
head of an object stream (the object numbers and offsets) again for every object taken from it; it
reads the head once per stream, the same way, and keeps what stopped the reading, if anything, to
fail where pyHanko would have failed.

It reads only the plain form of the syntax. Anything else (a comment, a ``#`` escape or a
non-ASCII byte in a name, a number such as ``1,5`` or ``--2``, a reference with unusual spacing,
a duplicate key, a truncated object, content streams, streams other than ``io.BytesIO``) makes it
start again from the object's first byte with pyHanko's original reader, so every error and every
odd case is pyHanko's own. ``libs/common/tests/pdf/test_pyhanko_parser.py`` compares both readers
on real files and on generated syntax: objects, their types, ``container_ref`` and end positions.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from importlib import metadata
from typing import Any

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.reader import PdfFileReader

PYHANKO_VERSION = "0.38.0"
"""The pyHanko release whose ``_get_object_from_stream`` :func:`get_object_from_stream` reproduces."""

logger = logging.getLogger("pyhanko.pdf_utils.reader")

__all__ = [
    "PYHANKO_VERSION",
    "get_object_from_stream",
    "install",
    "original_get_object_from_stream",
    "original_read_object",
    "read_object",
    "supported_pyhanko",
]

original_read_object = generic.read_object
"""pyHanko's own reader, used for fallbacks and by the equivalence tests."""
original_get_object_from_stream = PdfFileReader._get_object_from_stream

_NO = generic.ContentOpReading.NO

_WHITESPACE = rb"[ \n\r\t\f\x00]"
_DELIMITER_OR_WHITESPACE = rb"[ \n\r\t\f\x00()<>\[\]{}/%]"
_NUMBER_BYTE = rb"[+,\-.0-9]"
"""What pyHanko's number reader consumes (its stop class ``[^+-.0-9]``, where ``+-.`` is a range)."""
_SPACE = rb"[ \t\n\r\f\v]"
"""``\\s`` of pyHanko's reference pattern (with a vertical tab, without NUL)."""

# One pattern for "whitespace, then the next token"; ``lastindex`` tells which token.
_NAME, _REFERENCE, _INTEGER, _REAL = 1, 2, 5, 6
_OPEN_DICT, _CLOSE_DICT, _OPEN_ARRAY, _CLOSE_ARRAY, _PLAIN_STRING, _STRING = 7, 8, 9, 10, 11, 12
_TRUE, _FALSE, _NULL = 13, 14, 15
_TOKEN = re.compile(
    _WHITESPACE + rb"*(?:"
    # 1: a name without escapes, followed by whitespace, a delimiter or the end
    rb"(/[^\x00-\x20\x7f-\xff()<>\[\]{}/%#]*)(?=" + _DELIMITER_OR_WHITESPACE + rb"|\Z)"
    # 2 (3, 4): a reference, "R" followed by a byte that is not a letter, as pyHanko requires
    rb"|(([0-9]+)[ \n\r\t\f]+([0-9]+)[ \n\r\t\f]+R)(?=[^a-zA-Z])"
    # 5: an integer that pyHanko would not take for the start of a reference
    rb"|([+\-]?[0-9]+)(?!" + _NUMBER_BYTE + rb")(?!" + _SPACE + rb"+[0-9]+" + _SPACE + rb"+R[^a-zA-Z])"
    # 6: a real
    rb"|([+\-]?(?:[0-9]+\.[0-9]*|\.[0-9]+))(?!" + _NUMBER_BYTE + rb")"
    rb"|(<<)|(>>)|(\[)|(\])"  # 7, 8, 9, 10
    rb"|\(([^()\\]*)\)"  # 11: a literal string without escapes or parentheses
    rb"|([(<])"  # 12: any other literal string, or a hex string (after "<<" was ruled out)
    rb"|(true)|(false)|(null)"  # 13, 14, 15
    rb")"
)
_INTEGER_ARRAY_REST = re.compile(rb"[ \n\r\t\f]*((?:[0-9]+[ \n\r\t\f]+)*[0-9]+)?[ \n\r\t\f]*\\]")
"""The rest of an array of unsigned integers, after its "[" (fonts' width arrays are mostly that)."""
_STREAM_OR_COMMENT = re.compile(_WHITESPACE + rb"*[s%]")
_PEEK = 20
"""pyHanko tells a reference from a number by its pattern on the next 20 bytes."""
_LEADING_WHITESPACE = frozenset(b" \n\r\t\f\x00")


class _Fallback(Exception):
    """The input is not in the plain form this reader handles: pyHanko's reader takes over."""


class _Dictionary:
    """An open dictionary: its entries so far, and the key read that still waits for its value."""

    __slots__ = ("data", "key")

    def __init__(self) -> None:
        self.data: dict[generic.NameObject, Any] = {}
        self.key: generic.NameObject | None = None


def _parse(stream: io.BytesIO, buffer: bytes | memoryview, position: int, container_ref: Any) -> tuple[Any, int]:
    """The object at ``position`` and the position after it."""
    if buffer[position] in _LEADING_WHITESPACE:
        raise _Fallback  # pyHanko's reader refuses it
    handler = container_ref.get_pdf_handler()
    match_token = _TOKEN.match
    # Open containers, innermost last: a list of items for an array, a _Dictionary for a dictionary.
    stack: list[list[Any] | _Dictionary] = []
    while True:
        match = match_token(buffer, position)
        if match is None:
            raise _Fallback
        kind = match.lastindex
        position = match.end()
        result: Any
        top = stack[-1] if stack else None
        keyless_dictionary = top if isinstance(top, _Dictionary) and top.key is None else None
        if kind == _NAME:
            result = generic.NameObject(match.group(_NAME).decode("ascii"))
            if keyless_dictionary is not None:
                keyless_dictionary.key = result  # pyHanko gives keys no container_ref
                continue
        elif keyless_dictionary is not None and kind != _CLOSE_DICT:
            raise _Fallback  # a dictionary key that is not a plain name
        elif kind == _REFERENCE:
            if position + 1 - match.start(_REFERENCE) > _PEEK:
                raise _Fallback  # pyHanko would read a number here
            idnum = int(match.group(3))
            if idnum == 0:
                raise _Fallback
            result = generic.IndirectObject(idnum, int(match.group(4)), handler)
        elif kind == _INTEGER:
            result = generic.NumberObject(match.group(_INTEGER).decode("ascii"))
        elif kind == _REAL:
            result = generic.FloatObject(match.group(_REAL).decode("ascii"))
        elif kind == _OPEN_DICT:
            stack.append(_Dictionary())
            continue
        elif kind == _OPEN_ARRAY:
            numbers = _INTEGER_ARRAY_REST.match(buffer, position)
            if numbers is not None:
                position = numbers.end()
                digits = numbers.group(1)
                items = [generic.NumberObject(number) for number in digits.split()] if digits else []
                for item in items:
                    item.container_ref = container_ref
                result = generic.ArrayObject(items)
            else:
                stack.append([])
                continue
        elif kind == _CLOSE_ARRAY:
            if not isinstance(top, list):
                raise _Fallback
            stack.pop()
            result = generic.ArrayObject(top)
        elif kind == _CLOSE_DICT:
            if keyless_dictionary is None:
                raise _Fallback  # not in a dictionary, or a key without its value
            stack.pop()
            data = keyless_dictionary.data
            result = None
            if _STREAM_OR_COMMENT.match(buffer, position):
                stream.seek(position)
                stream_data = generic._maybe_read_stream_payload(stream, data, handler)
                if stream_data is not None:
                    result = generic.StreamObject(data, encoded_data=stream_data)
                    position = stream.tell()
            if result is None:
                result = generic.DictionaryObject(data)
        elif kind == _PLAIN_STRING:
            result = generic.pdf_string(match.group(_PLAIN_STRING))  # as pyHanko's literal-string reader
        elif kind == _STRING:
            stream.seek(match.start(_STRING))
            result = original_read_object(stream, container_ref)
            position = stream.tell()
        elif kind == _TRUE:
            result = generic.BooleanObject(True)
        elif kind == _FALSE:
            result = generic.BooleanObject(False)
        else:
            result = generic.NullObject()
        result.container_ref = container_ref
        if not stack:
            return result, position
        top = stack[-1]
        if isinstance(top, list):
            top.append(result)
        else:
            key = top.key
            assert key is not None  # a value is read only after its key
            if key in top.data:
                raise _Fallback  # pyHanko warns, or refuses in strict mode
            top.data[key] = result
            top.key = None


def read_object(
    stream: Any,
    container_ref: Any,
    as_metadata_stream: bool = False,
    in_content_stream: generic.ContentOpReading = _NO,
) -> Any:
    """Read a PDF object; same contract as ``pyhanko.pdf_utils.generic.read_object``.

    The file's buffer is exported once per ``BytesIO`` (its first export copies it; pyHanko's reader
    keeps one for the whole file). Objects in object streams do not come here: see
    :func:`get_object_from_stream`.
    """
    if (
        in_content_stream is not _NO
        or as_metadata_stream
        or type(stream) is not io.BytesIO
        or not hasattr(container_ref, "get_pdf_handler")
    ):
        return original_read_object(stream, container_ref, as_metadata_stream, in_content_stream)
    with stream.getbuffer() as buffer:
        return _read_at(stream, buffer, stream.tell(), container_ref)


def _read_at(stream: io.BytesIO, buffer: bytes | memoryview, start: int, container_ref: Any) -> Any:
    """The object at ``start`` of ``buffer`` (the contents of ``stream``), the stream left after it."""
    try:
        result, end = _parse(stream, buffer, start, container_ref)
    except (_Fallback, IndexError):
        stream.seek(start)
        return original_read_object(stream, container_ref)
    stream.seek(end)
    return result


_INDEX = "_common_pdf_object_stream_index"


def _object_stream_index(data: bytes, count: Any) -> tuple[list[tuple[Any, Any]], BaseException | None]:
    """The (object number, offset) pairs at the head of an object stream, read as pyHanko reads them,
    up to the first that cannot be read, and what stopped the reading there (or None)."""
    header = io.BytesIO(data)
    pairs: list[tuple[Any, Any]] = []
    try:
        for _ in range(count):
            misc.read_non_whitespace(header, seek_back=True)
            objnum = generic.NumberObject.read_from_stream(header)
            misc.read_non_whitespace(header, seek_back=True)
            offset = generic.NumberObject.read_from_stream(header)
            misc.read_non_whitespace(header, seek_back=True)
            pairs.append((objnum, offset))
    except Exception as exc:  # re-raised, or handled as pyHanko does, when a lookup gets this far
        return pairs, exc
    return pairs, None


def get_object_from_stream(self: PdfFileReader, idnum: int, stmnum: int, idx: int) -> Any:
    """``PdfFileReader._get_object_from_stream`` of pyHanko 0.38.0 (MIT licence), reading the head of
    each object stream once instead of once per object taken from it."""
    stream_ref = generic.Reference(stmnum, 0, self)
    stream = stream_ref.get_object()
    assert isinstance(stream, generic.StreamObject)
    assert stream["/Type"] == "/ObjStm"
    if not (0 <= idx < stream["/N"]):
        if self.strict:
            raise misc.PdfStrictReadError("Object stream does not contain index")
        return generic.NullObject()
    data = stream.read_data(DecodePurpose.OBJECT_STREAM)
    cached = stream.__dict__.get(_INDEX)
    if cached is None or cached[0] is not data:
        cached = (data, *_object_stream_index(data, stream["/N"]))
        setattr(stream, _INDEX, cached)
    _, pairs, stopped = cached
    stream_data = io.BytesIO(data)
    first_object = stream["/First"]
    for i, (objnum, offset) in enumerate(pairs):
        if objnum != idnum:
            continue
        if self.strict and idx != i:
            raise misc.PdfStrictReadError("Object is in wrong index.")
        stream_data.seek(first_object + offset)
        try:
            # The decoded bytes themselves, not a copy made by exporting a fresh BytesIO's buffer for
            # every object (which would cost the size of the stream per object).
            obj = _read_at(stream_data, data, first_object + offset, generic.Reference(idnum, 0, self))
        except (misc.PdfStreamError, misc.PdfReadError) as e:
            logger.warning(f"Invalid stream (index {i}) within object {idnum} 0: {e}")
            if self.strict:
                raise misc.PdfStrictReadError(f"Can't read object stream: {e}") from e
            obj = generic.NullObject()
        if isinstance(obj, (generic.StreamObject, generic.IndirectObject)):
            if self.strict:
                raise misc.PdfStrictReadError("Encountered forbidden object type in object stream")
            return obj
        misc.read_non_whitespace(stream_data, seek_back=True, allow_eof=True)
        return obj
    if stopped is not None:
        if not isinstance(stopped, ValueError):
            raise stopped
        if self.strict:
            raise misc.PdfStrictReadError("Object stream header possibly corrupted")
        return generic.NullObject()
    if self.strict:
        raise misc.PdfStrictReadError("Object not found in stream, this is a fatal error in strict mode")
    return generic.NullObject()


@functools.cache
def supported_pyhanko() -> bool:
    """Whether the installed pyHanko is the release the replaced methods reproduce."""
    return metadata.version("pyhanko") == PYHANKO_VERSION


def install() -> bool:
    """Make pyHanko read objects with :func:`read_object` and object streams with
    :func:`get_object_from_stream`, on the pyHanko release they reproduce (:data:`PYHANKO_VERSION`;
    idempotent).

    Returns:
        Whether they are installed; on another pyHanko release its own reader stays.
    """
    if not supported_pyhanko():
        return False
    generic.read_object = read_object
    PdfFileReader._get_object_from_stream = get_object_from_stream  # type: ignore[method-assign]
    return True
