"""The fast hex-string reader gives exactly what pyHanko's own reader gives: value, position, errors."""

from __future__ import annotations

import asyncio
import hashlib
import io

import pytest
from asn1crypto import core
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic
from pyhanko.sign import attributes, general

from common.pdf import pyhanko_speedups
from common.pdf.dev_pki import DevPki
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


@pytest.mark.slow
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


@pytest.mark.parametrize("hash_algo", ["sha256", "sha512"])
def test_signing_certificate_v2_same_der_as_pyhanko(dev_pki: DevPki, hash_algo: str) -> None:
    """The cached attribute value encodes to exactly what pyHanko builds, for each certificate."""
    for signer in (dev_pki.load_signer(), dev_pki.load_seal()):
        cert = signer.signing_cert
        assert cert is not None
        expected = general.as_signing_certificate_v2(cert, hash_algo=hash_algo).dump(force=True)
        first = pyhanko_speedups.signing_certificate_v2(cert, hash_algo)
        second = pyhanko_speedups.signing_certificate_v2(cert, hash_algo)
        assert first.dump() == expected
        assert second.dump(force=True) == expected
        assert first is not second  # each signature gets its own value to embed
        assert first["certs"][0]["cert_hash"].native == hashlib.new(hash_algo, cert.dump()).digest()


def test_signing_certificate_attribute_installed(dev_pki: DevPki) -> None:
    pyhanko_speedups.install()
    assert attributes.as_signing_certificate_v2 is pyhanko_speedups.signing_certificate_v2  # type: ignore[attr-defined]
    cert = dev_pki.load_signer().signing_cert
    assert cert is not None
    attribute = asyncio.run(attributes.SigningCertificateV2Provider(cert).get_attribute())
    assert attribute["values"][0].dump(force=True) == general.as_signing_certificate_v2(cert).dump(force=True)


@pytest.mark.parametrize(
    ("header", "indefinite"),
    [
        (b"\x30\x80", True),
        (b"\x30\x82\x01\x80", False),  # 384 bytes
        (b"\x30\x81\x80", False),  # 128 bytes, long form
        (b"\xa0\x82\x01\x84\x30\x82\x01\x80", False),  # explicit tag around a definite length
        (b"\xa0\x80\x30\x80", True),
        (b"\x1f\x81\x00\x80", True),  # high tag number, indefinite
        (b"\x1f\x81\x00\x82\x01\x80", False),
        (b"\x30\x82\x01", True),  # truncated: left to asn1crypto
    ],
)
def test_has_indefinite_length(header: bytes, indefinite: bool) -> None:
    assert pyhanko_speedups.has_indefinite_length(header) is indefinite


class _Pair(core.Sequence):  # type: ignore[misc]
    _fields = [("data", core.OctetString), ("number", core.Integer)]  # noqa: RUF012 (asn1crypto spec)


def test_definite_length_ending_in_0x80_is_not_re_encoded() -> None:
    """asn1crypto alone re-encodes a value whose header ends in 0x80; installed, it reuses the bytes."""
    pyhanko_speedups.install()
    der = _Pair({"data": b"x" * 377, "number": 5}).dump()
    assert der[:4] == b"\x30\x82\x01\x80"
    loaded = _Pair.load(der)
    assert loaded.dump() == der
    assert loaded.dump() == der
    assert loaded.children is None  # never parsed, so never re-encoded
    assert loaded["number"].native == 5
    assert loaded.dump(force=True) == der  # forcing still re-encodes, to the same DER
    indefinite = b"\x30\x80" + der[4:] + b"\x00\x00"  # the same value in BER, indefinite length
    assert _Pair.load(indefinite).dump() == der
