"""Speed-ups of pyHanko with the same results as the original: hex strings, signing-certificate
attributes, asn1crypto's test for indefinite lengths and its preparation of names for comparison; and,
installed by :func:`install` too, the object reader of :mod:`common.pdf.pyhanko_parser` and the
revision views of :mod:`common.pdf.pyhanko_history`.

**Hex strings.** pyHanko (0.x) reads a hex string ``<…>`` one byte at a time through a generator. A
signature's ``/Contents`` is such a string, several thousand digits long, and every reader of a signed file
parses it: signing the next revision, filling, verifying (each signature, and again in the diff
analysis of each later revision). Measured on the issued seed letter (two signatures), the byte loop
was about a quarter of ``verify_pdf``'s time.

:func:`install` replaces ``pyhanko.pdf_utils.generic.read_hex_string_from_stream`` with
:func:`read_hex_string_from_stream`, which finds the closing ``>`` with one ``bytes.find`` and
decodes the digits with ``binascii``. Any input it does not handle in that simple form (a comment
inside the string, a byte that is neither a hex digit nor PDF whitespace, no closing ``>``) is
handed back to pyHanko's original reader from the same position, so errors and edge cases stay
pyHanko's own; ``libs/common/tests/pdf/test_pyhanko_speedups.py`` compares both on generated input.

**The signing-certificate-v2 attribute.** Every CMS signature carries, as a signed attribute, the
SHA-256 of the signer's certificate and its issuer and serial number (RFC 5035). pyHanko builds that
value afresh with asn1crypto for every signature, and asn1crypto re-encodes a value built from
Python data once per enclosing level: about 8 ms of the 9 ms a whole CMS signature took (measured,
ECDSA P-256 development keys). The value depends on nothing but the certificate, so
:func:`signing_certificate_v2` builds it once per certificate with pyHanko's own function, keeps its
DER, and hands out parsed copies: the same bytes, ≈ 0.1 ms.

**asn1crypto's indefinite-length test.** asn1crypto (1.5.1) decides that a value was encoded with an
indefinite length when its encoded header ends in the byte 0x80, and then re-encodes the value and
everything in it on every ``dump()``. A definite length can end in 0x80 too (``30 82 01 80``, 384
bytes): signature values and signing times vary, so for one signature in three or so some part of the
CMS blob had such a length, and encoding it took 42 ms instead of 0.02 ms. :func:`install` wraps the
five ``dump`` methods that make that test: a header whose length octets really are definite is dropped
and computed again from the unchanged contents, as for a new value, so the bytes stay the same.

**Names compared.** Checking a signature compares certificate names many times (issuer and serial
of the signing certificate, the chain), and asn1crypto prepares each value of each name with the
RFC 4518 string preparation, a per-character Python loop, for every freshly parsed certificate:
about 2 ms of a verification. The preparation depends on nothing but the string, so
:func:`ldap_string_prep` keeps its results per string (errors are not kept: they are raised again).

:func:`originals` puts pyHanko's and asn1crypto's own code back for a while, so that tests and
diagnostics can compare the two.
"""

from __future__ import annotations

import binascii
import contextlib
import functools
from collections.abc import Iterator
from typing import Any

from asn1crypto import core, tsp, x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PDF_WHITESPACE
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.sign import attributes, general

from common.pdf import pyhanko_history, pyhanko_parser

__all__ = [
    "has_indefinite_length",
    "install",
    "ldap_string_prep",
    "original_read_hex_string_from_stream",
    "originals",
    "read_hex_string_from_stream",
    "signing_certificate_v2",
]

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


@functools.lru_cache(maxsize=256)
def _signing_certificate_v2_der(certificate_der: bytes, hash_algo: str) -> bytes:
    value: tsp.SigningCertificateV2 = general.as_signing_certificate_v2(
        x509.Certificate.load(certificate_der), hash_algo=hash_algo
    )
    der: bytes = value.dump()
    return der


def signing_certificate_v2(cert: x509.Certificate, hash_algo: str = "sha256") -> tsp.SigningCertificateV2:
    """pyHanko's ``as_signing_certificate_v2``, built once per certificate (a fresh parsed copy each call)."""
    return tsp.SigningCertificateV2.load(_signing_certificate_v2_der(cert.dump(), hash_algo))


def has_indefinite_length(header: bytes) -> bool:
    """Whether an asn1crypto header (explicit tags, then the value's own) ends in an indefinite length.

    Malformed input counts as indefinite, which keeps asn1crypto's own behaviour for it.
    """
    position, indefinite, size = 0, False, len(header)
    while position < size:
        first = header[position]
        position += 1
        if first & 0x1F == 0x1F:  # high tag number: more identifier octets, the last below 0x80
            while position < size and header[position] & 0x80:
                position += 1
            position += 1
        if position >= size:
            return True
        length = header[position]
        position += 1
        indefinite = length == 0x80
        if length > 0x80:
            position += length & 0x7F
    return indefinite or position != size


def _guarded_dump(dump: Any) -> Any:
    @functools.wraps(dump)
    def guarded(self: Any, force: bool = False) -> Any:
        header = self._header
        if header is not None and header[-1:] == b"\x80" and not has_indefinite_length(header):
            self._header = None
        return dump(self, force)

    guarded.__wrapped_by_common_pdf__ = True  # type: ignore[attr-defined]
    return guarded


_DUMPING_CLASSES = (core.Asn1Value, core.Choice, core.Primitive, core.Sequence, core.SequenceOf)


_original_ldap_string_prep = x509.NameTypeAndValue._ldap_string_prep


@functools.lru_cache(maxsize=4096)
def _ldap_string_prep_of(value: str) -> str:
    prepared: str = _original_ldap_string_prep(None, value)
    return prepared


def ldap_string_prep(self: x509.NameTypeAndValue, value: Any) -> Any:
    """asn1crypto's RFC 4518 string preparation of a name's value, computed once per distinct string."""
    if type(value) is not str:
        return _original_ldap_string_prep(self, value)
    return _ldap_string_prep_of(value)


def install() -> None:
    """Install every speed-up into pyHanko and asn1crypto (idempotent)."""
    pyhanko_parser.install()
    pyhanko_history.install()
    generic.read_hex_string_from_stream = read_hex_string_from_stream
    x509.NameTypeAndValue._ldap_string_prep = ldap_string_prep
    attributes.as_signing_certificate_v2 = signing_certificate_v2  # type: ignore[attr-defined]
    for cls in _DUMPING_CLASSES:
        dump = cls.__dict__["dump"]
        if not getattr(dump, "__wrapped_by_common_pdf__", False):
            cls.dump = _guarded_dump(dump)


@contextlib.contextmanager
def originals() -> Iterator[None]:
    """pyHanko's and asn1crypto's own readers, revision views and name preparation instead of the
    speed-ups, until the block ends (for tests and diagnostics: the switch is process-wide)."""
    replaced: list[tuple[Any, str, Any]] = [
        (generic, "read_object", pyhanko_parser.original_read_object),
        (generic, "read_hex_string_from_stream", original_read_hex_string_from_stream),
        (PdfFileReader, "_get_object_from_stream", pyhanko_parser.original_get_object_from_stream),
        (HistoricalResolver, "_subsume_object", pyhanko_history.original_subsume_object),
        (HistoricalResolver, "_load_reverse_xref_cache", pyhanko_history.original_load_reverse_xref_cache),
        (HistoricalResolver, "_collect_indirect_references", pyhanko_history.original_collect_indirect_references),
        (x509.NameTypeAndValue, "_ldap_string_prep", _original_ldap_string_prep),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in replaced]
    try:
        for owner, name, original in replaced:
            setattr(owner, name, original)
        yield
    finally:
        for owner, name, current in saved:
            setattr(owner, name, current)
