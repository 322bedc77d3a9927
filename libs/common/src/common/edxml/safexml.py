"""Safe loading of untrusted XML bytes into an lxml tree.

Defences, in order:

1. size cap on the raw input (before anything else is done with it);
2. transcoding to UTF-8 (only a whitelist of encodings), so that the following byte scans are exact;
3. skipping of junk before the first ``<`` (bounded, and reported as a note);
4. a scan of the prolog: any ``<!DOCTYPE`` is refused before parsing, so there is no DTD, no entity
   declaration, hence no entity expansion (billion laughs) and no external entity (XXE);
5. lxml with ``resolve_entities=False``, ``no_network=True``, ``load_dtd=False``, the encoding forced
   to UTF-8, fed in chunks while counting elements and nesting depth against caps;
6. after parsing, the document must not carry a DTD (defence in depth).

``huge_tree`` is enabled on purpose: libxml2's default 10 MB cap on a text node would refuse
legitimate attachments; our own caps (bytes, elements, depth) replace its built-in limits.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, cast

from lxml import etree

from common.edxml.errors import EdxmlError, EdxmlErrorCode
from common.edxml.models import EDXML_NAMESPACE, NoteCode, ParseNote

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Caps applied while parsing an untrusted package.

    Attributes:
        max_bytes: Largest accepted input, in bytes.
        max_attachment_bytes: Largest accepted decoded attachment, in bytes.
        max_attachments: Most attachments accepted in one package.
        max_elements: Most XML elements accepted.
        max_depth: Deepest element nesting accepted.
        max_junk_bytes: Most bytes skipped before the first ``<`` (e.g. ``1212<?xml``).
    """

    max_bytes: int = 50 * MiB
    max_attachment_bytes: int = 40 * MiB
    max_attachments: int = 100
    max_elements: int = 100_000
    max_depth: int = 64
    max_junk_bytes: int = 1024

    def __post_init__(self) -> None:
        """Refuse caps that would disable a defence.

        Raises:
            ValueError: A cap is negative, or ``max_depth`` exceeds 256 (deeper trees would
                exhaust Python's recursion when unknown elements are kept).
        """
        values = (self.max_bytes, self.max_attachment_bytes, self.max_attachments, self.max_elements, self.max_depth)
        if min(values) < 0 or self.max_junk_bytes < 0:
            raise ValueError("parse limits must not be negative")
        if self.max_depth > 256:
            raise ValueError("max_depth must be at most 256")


DEFAULT_LIMITS = ParseLimits()

_CHUNK = 256 * 1024
_DECL_ENCODING = re.compile(rb"""<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]{0,39})["']""")
_ALLOWED_ENCODINGS = frozenset(
    {"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "ascii", "latin-1"}
    | {f"iso8859-{n}" for n in range(1, 17)}
    | {f"cp{n}" for n in range(1250, 1259)}
)
_UNDEFINED_PREFIX = re.compile(r"Namespace prefix (\S+) (?:on|for) ")
_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9._-]{0,63}")
_KNOWN_PREFIXES = {
    "edxml": EDXML_NAMESPACE,
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "xsd": "http://www.w3.org/2001/XMLSchema",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "dsig": "http://www.w3.org/2000/09/xmldsig#",
}
_WHITESPACE = b" \t\r\n"


def _fail(code: EdxmlErrorCode, message: str) -> EdxmlError:
    return EdxmlError(code, message)


def _note(notes: list[ParseNote], code: NoteCode, message: str) -> None:
    notes.append(ParseNote(code=code.value, message=message))


def _decode_with(data: bytes, encoding: str, notes: list[ParseNote], reason: str) -> bytes:
    try:
        utf8 = data.decode(encoding).removeprefix("\ufeff").encode("utf-8")
    except (UnicodeError, LookupError) as exc:
        raise _fail(EdxmlErrorCode.MALFORMED, f"input is not valid {encoding} text") from exc
    match = _DECL_ENCODING.search(utf8[:4096])
    if match is not None:
        utf8 = utf8[: match.start(1)] + b"UTF-8" + utf8[match.end(1) :]
    _note(notes, NoteCode.TRANSCODED, f"transcoded from {encoding} ({reason}) to UTF-8")
    return utf8


def _to_utf8(data: bytes, limits: ParseLimits, notes: list[ParseNote]) -> bytes:
    """Return the input as UTF-8 bytes (BOM removed), transcoding whitelisted encodings."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :]
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return _decode_with(data, encoding, notes, "byte order mark")
    for head, encoding in (
        (b"\x00\x00\x00<", "utf-32-be"),
        (b"<\x00\x00\x00", "utf-32-le"),
        (b"\x00<\x00", "utf-16-be"),
        (b"<\x00", "utf-16-le"),
    ):
        if data.startswith(head):
            return _decode_with(data, encoding, notes, "byte pattern")
    match = _DECL_ENCODING.search(data[: limits.max_junk_bytes + 256])
    if match is None:
        return data
    declared = match.group(1).decode("ascii")
    try:
        name = codecs.lookup(declared).name
    except LookupError as exc:
        raise _fail(EdxmlErrorCode.MALFORMED, f"unsupported encoding {declared!r}") from exc
    if name == "utf-8":
        return data
    if name not in _ALLOWED_ENCODINGS:
        raise _fail(EdxmlErrorCode.MALFORMED, f"unsupported encoding {declared!r}")
    return _decode_with(data, name, notes, "declared")


def _skip_junk(data: bytes, limits: ParseLimits, notes: list[ParseNote]) -> bytes:
    """Skip bytes before the first ``<`` (bounded), reporting what was skipped."""
    start = data.find(b"<", 0, limits.max_junk_bytes + 1)
    if start < 0:
        raise _fail(EdxmlErrorCode.MALFORMED, "input does not start with XML markup")
    if start == 0:
        return data
    junk = data[:start]
    if junk.strip(_WHITESPACE) or data.startswith(b"<?xml", start):
        _note(
            notes,
            NoteCode.LEADING_JUNK_SKIPPED,
            f"skipped {start} byte(s) before the XML markup: {junk[:16]!r}",
        )
    return data[start:]


def _scan_prolog(data: bytes) -> int:
    """Check the prolog; refuse a DOCTYPE. Return the offset of the root element's ``<``."""
    pos = 0
    if data.startswith(b"<?xml"):
        end = data.find(b"?>")
        if end < 0:
            raise _fail(EdxmlErrorCode.MALFORMED, "unterminated XML declaration")
        pos = end + 2
    size = len(data)
    while True:
        while pos < size and data[pos] in _WHITESPACE:
            pos += 1
        if data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos + 4)
            if end < 0:
                raise _fail(EdxmlErrorCode.MALFORMED, "unterminated comment")
            pos = end + 3
        elif data.startswith(b"<?", pos):
            end = data.find(b"?>", pos + 2)
            if end < 0:
                raise _fail(EdxmlErrorCode.MALFORMED, "unterminated processing instruction")
            pos = end + 2
        elif data.startswith(b"<!", pos):
            if data[pos : pos + 9].upper() == b"<!DOCTYPE":
                raise _fail(
                    EdxmlErrorCode.FORBIDDEN_DTD,
                    "a DOCTYPE (DTD / entity declarations) is not allowed in an edXML package",
                )
            raise _fail(EdxmlErrorCode.MALFORMED, "markup declaration outside of an element")
        else:
            return pos


def _declare_prefixes(data: bytes, root_at: int, prefixes: list[str]) -> bytes:
    """Insert ``xmlns:p`` declarations for undeclared prefixes into the root start tag."""
    match = re.compile(rb"<[^\s/>]+").match(data, root_at)
    if match is None:
        raise _fail(EdxmlErrorCode.MALFORMED, "no root element")
    declarations = b"".join(
        b' xmlns:%s="%s"'
        % (
            prefix.encode("ascii"),
            _KNOWN_PREFIXES.get(prefix.lower(), f"urn:x-undeclared-prefix:{prefix}").encode("ascii"),
        )
        for prefix in prefixes
    )
    return data[: match.end()] + declarations + data[match.end() :]


class _LogEntry(Protocol):
    type_name: str
    message: str


class _NamespaceRetry(Exception):
    def __init__(self, prefixes: list[str]) -> None:
        super().__init__(prefixes)
        self.prefixes = prefixes


def _parse(data: bytes, limits: ParseLimits, *, retry_prefixes: bool) -> etree._Element:
    # lxml keeps a thread-local log that can still hold entries of an earlier, aborted parse.
    etree.clear_error_log()
    parser = etree.XMLPullParser(
        events=("start", "end"),
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    elements = 0
    depth = 0
    try:
        for offset in range(0, len(data), _CHUNK):
            parser.feed(data[offset : offset + _CHUNK])
            for event, _ in parser.read_events():
                if event == "start":
                    elements += 1
                    depth += 1
                    if elements > limits.max_elements:
                        raise _fail(EdxmlErrorCode.TOO_COMPLEX, f"more than {limits.max_elements} XML elements")
                    if depth > limits.max_depth:
                        raise _fail(EdxmlErrorCode.TOO_COMPLEX, f"elements nested deeper than {limits.max_depth}")
                elif event == "end":
                    depth -= 1
        root = parser.close()
    except etree.XMLSyntaxError as exc:
        entries = cast("Iterable[_LogEntry]", exc.error_log)
        prefixes: list[str] = []
        for entry in entries:
            if entry.type_name == "NS_ERR_UNDEFINED_NAMESPACE":
                found = _UNDEFINED_PREFIX.search(entry.message)
                if found and _PREFIX.fullmatch(found.group(1)) and found.group(1) not in prefixes:
                    prefixes.append(found.group(1))
        if any(entry.type_name == "ERR_RESOURCE_LIMIT" for entry in entries):
            raise _fail(EdxmlErrorCode.TOO_COMPLEX, f"parser resource limit: {str(exc)[:200]}") from exc
        if retry_prefixes and prefixes and all(p.lower() not in {"xml", "xmlns"} for p in prefixes):
            raise _NamespaceRetry(prefixes) from exc
        raise _fail(EdxmlErrorCode.MALFORMED, f"not well-formed XML: {str(exc)[:200]}") from exc
    except (etree.LxmlError, ValueError, LookupError) as exc:
        raise _fail(EdxmlErrorCode.MALFORMED, f"not well-formed XML: {str(exc)[:200]}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise _fail(EdxmlErrorCode.FORBIDDEN_DTD, "a DOCTYPE is not allowed in an edXML package")
    return root


def load_xml(data: bytes, limits: ParseLimits, notes: list[ParseNote]) -> etree._Element:
    """Parse untrusted bytes into an lxml element tree, safely.

    Args:
        data: The raw package.
        limits: Caps to apply.
        notes: Receives a note for everything that was normalised.

    Returns:
        The root element (comments and processing instructions removed).

    Raises:
        EdxmlError: ``too_large``, ``too_complex``, ``forbidden_dtd`` or ``malformed``.
    """
    if len(data) > limits.max_bytes:
        raise _fail(EdxmlErrorCode.TOO_LARGE, f"package of {len(data)} bytes exceeds {limits.max_bytes}")
    if not data.strip(_WHITESPACE):
        raise _fail(EdxmlErrorCode.MALFORMED, "empty input")
    data = _to_utf8(data, limits, notes)
    data = _skip_junk(data, limits, notes)
    root_at = _scan_prolog(data)
    try:
        return _parse(data, limits, retry_prefixes=True)
    except _NamespaceRetry as retry:
        fixed = _declare_prefixes(data, root_at, retry.prefixes)
        root = _parse(fixed, limits, retry_prefixes=False)
        _note(
            notes,
            NoteCode.UNDECLARED_PREFIX,
            "declared namespace prefix(es) used without declaration: " + ", ".join(retry.prefixes),
        )
        return root
