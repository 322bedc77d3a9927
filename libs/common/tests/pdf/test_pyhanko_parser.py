"""The fast object reader builds exactly what pyHanko's reader builds, on real files and odd syntax;
the revision views (copies, reference paths, dependencies) and the name preparation give what
pyHanko's and asn1crypto's own code gives; and verdicts do not change, altered files included."""

from __future__ import annotations

import io
from collections.abc import Callable
from importlib import metadata
from typing import Any

import pytest
from asn1crypto import x509
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader

from common.pdf import pyhanko_history, pyhanko_parser, pyhanko_speedups
from common.pdf.model import DocumentView
from common.pdf.render import render_pdf
from common.pdf.verify import verify_pdf

pyhanko_speedups.install()

SignedLetter = Any  # conftest.SignedLetter (conftest modules are not importable)


def tree(obj: Any) -> Any:
    """Everything pyHanko's objects carry that a reader sets: type, value, container and children."""
    ref = obj.container_ref
    where = (type(ref).__name__, getattr(ref, "idnum", None), getattr(ref, "generation", None))
    if isinstance(obj, generic.IndirectObject):
        return ("ref", obj.idnum, obj.generation, where)
    if isinstance(obj, generic.DictionaryObject):
        items = [(type(k).__name__, str(k), k.container_ref is None, tree(v)) for k, v in obj.items()]
        data = obj.encoded_data if isinstance(obj, generic.StreamObject) else None
        return (type(obj).__name__, where, items, data)
    if isinstance(obj, generic.ArrayObject):
        return ("array", where, [tree(v) for v in obj])
    if isinstance(obj, generic.FloatObject | generic.NumberObject):
        return (type(obj).__name__, str(obj), where)
    if isinstance(obj, generic.TextStringObject | generic.ByteStringObject):
        return (type(obj).__name__, bytes(obj.original_bytes), where)
    if isinstance(obj, generic.BooleanObject):
        return ("BooleanObject", obj.value, where)
    if isinstance(obj, generic.NullObject):
        return ("NullObject", where)
    assert isinstance(obj, generic.NameObject), type(obj)
    return ("NameObject", str(obj), where)


def every_object(pdf: bytes) -> list[Any]:
    """Each object of each revision of the file, as :func:`tree` (an error's type where it fails)."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    out = []
    for revision in range(reader.xrefs.total_revisions):
        resolver = reader.get_historical_resolver(revision)
        for ref in sorted(reader.xrefs.explicit_refs_in_revision(revision), key=lambda r: (r.idnum, r.generation)):
            try:
                obj = resolver(generic.Reference(ref.idnum, ref.generation, resolver))
                out.append((revision, ref.idnum, tree(obj)))
            except Exception as exc:
                out.append((revision, ref.idnum, type(exc).__name__))
        out.append((revision, "trailer", tree(resolver.trailer_view)))
    return out


@pytest.fixture(scope="module")
def real_files(signed_letter: SignedLetter, seed_view: Callable[..., DocumentView]) -> dict[str, bytes]:
    return {
        "draft preview": render_pdf(seed_view()).pdf,
        "rendered for signing": signed_letter.rendered.pdf,
        "signed": signed_letter.signed,
        "issued (sealed)": signed_letter.sealed,
    }


@pytest.mark.parametrize("name", ["draft preview", "rendered for signing", "signed", "issued (sealed)"])
def test_every_object_of_real_files_is_read_the_same(real_files: dict[str, bytes], name: str) -> None:
    fast = every_object(real_files[name])
    with pyhanko_speedups.originals():
        original = every_object(real_files[name])
    assert fast == original
    assert len(fast) > 20
    assert not any(isinstance(entry[2], str) for entry in fast), "every object of a good file reads"


def test_the_fast_reader_is_the_one_used(signed_letter: SignedLetter, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a real file goes through the fast path, not through the fallback for every object."""
    fallbacks: list[int] = []
    original = pyhanko_parser.original_read_object

    def counting(stream: Any, container_ref: Any, *args: Any) -> Any:
        fallbacks.append(stream.tell())
        return original(stream, container_ref, *args)

    monkeypatch.setattr(pyhanko_parser, "original_read_object", counting)
    objects = every_object(signed_letter.sealed)
    # Strings are handed to pyHanko's reader by design; nothing else is.
    strings = sum(str(entry).count("TextStringObject") + str(entry).count("ByteStringObject") for entry in objects)
    assert len(fallbacks) <= strings
    assert len(objects) > 20


def test_objects_in_object_streams_are_read_from_the_decoded_bytes(
    signed_letter: SignedLetter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No BytesIO per object whose buffer would be exported (copied): the stream's bytes are parsed."""
    from pyhanko.pdf_utils.xref import ObjStreamRef

    reader = PdfFileReader(io.BytesIO(signed_letter.sealed), strict=True)
    in_streams = [
        generic.Reference(ref.idnum, ref.generation, reader)
        for ref in reader.xrefs.explicit_refs_in_revision(0)
        if isinstance(reader.xrefs.get_historical_ref(ref, 0), ObjStreamRef)
    ]
    assert in_streams, "WeasyPrint's file keeps objects in object streams"
    other_streams: list[object] = []
    read_object = generic.read_object

    def watching(stream: Any, *args: Any, **kwargs: Any) -> Any:
        if stream is not reader.stream:
            other_streams.append(stream)
        return read_object(stream, *args, **kwargs)

    monkeypatch.setattr(generic, "read_object", watching)
    fast = [tree(reader.get_object(ref)) for ref in in_streams]
    assert other_streams == []
    monkeypatch.undo()
    with pyhanko_speedups.originals():
        original_reader = PdfFileReader(io.BytesIO(signed_letter.sealed), strict=True)
        assert fast == [tree(original_reader.get_object(ref)) for ref in in_streams]


def test_verification_reports_do_not_change(signed_letter: SignedLetter) -> None:
    roots = [signed_letter.pki.root_certificate()]
    for pdf in (signed_letter.signed, signed_letter.sealed):
        fast = verify_pdf(pdf, roots)
        with pyhanko_speedups.originals():
            original = verify_pdf(pdf, roots)
        assert fast == original
        assert fast.all_trusted_and_unaltered


class _Handler:
    """What a reference's handler must offer to the reader: strictness and object lookups."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict

    def get_object(self, ref: Any) -> Any:
        if ref.idnum == 9:
            return generic.NumberObject(3)
        raise KeyError(ref)


def outcome(reader: Callable[..., Any], data: bytes, strict: bool) -> tuple[Any, ...]:
    """What ``reader`` makes of ``data``; pyHanko's reader runs with all of pyHanko's own code back."""
    if reader is pyhanko_parser.original_read_object:
        with pyhanko_speedups.originals():
            return _outcome(reader, data, strict)
    return _outcome(reader, data, strict)


def _outcome(reader: Callable[..., Any], data: bytes, strict: bool) -> tuple[Any, ...]:
    stream = io.BytesIO(data)
    container = generic.Reference(7, 0, _Handler(strict))
    try:
        value = reader(stream, container)
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))
    return ("ok", tree(value), stream.tell())


_TOKENS = st.sampled_from(
    [
        b"<<", b">>", b"[", b"]", b"/Type", b"/A", b"/", b"/A#20B", b"/\xc3\xa9", b"/a\x01b", b"/W", b"/Length",
        b"0", b"7", b"12", b"-3", b"+4", b".5", b"-.25", b"1.", b"1,5", b"--2", b"1.2.3", b"+", b"-", b".",
        b"1 0 R", b"12 0 R", b"0 0 R", b"1\x0b0 R", b"1 0\x0bR", b"3 0 RX", b"1 0 R1", b"123456789012 0 R",
        b"9 0 R", b"true", b"false", b"null", b"truex", b"nul", b"(str)", b"(a\\)b)", b"(n(e)st)", b"()",
        b"(\xfe\xff\x00A)", b"<48656C>", b"<4 8>", b"<>", b"% comment\n", b"%\r", b"R", b"obj", b"{", b"}",
        b"stream\nabc\nendstream", b"stream\r\nabcdef\nendstream", b">", b"<", b")",
    ]
)  # fmt: skip
_SPACES = st.sampled_from([b"", b" ", b"  ", b"\n", b"\r\n", b"\t", b"\x00", b"\x0c", b"\x0b"])


@settings(max_examples=3000, deadline=None)
@given(
    pieces=st.lists(st.tuples(_SPACES, _TOKENS), max_size=24),
    start=st.sampled_from([b"<<", b"[", b"", b"<< /Length 3 >>", b"<< /Length 9 0 R >>"]),
    strict=st.booleans(),
)
@pytest.mark.slow
def test_same_objects_and_errors_as_pyhanko_on_generated_syntax(
    pieces: list[tuple[bytes, bytes]], start: bytes, strict: bool
) -> None:
    data = start + b"".join(space + token for space, token in pieces)
    fast = outcome(pyhanko_parser.read_object, data, strict)
    assert fast == outcome(pyhanko_parser.original_read_object, data, strict)


_SCALARS = st.sampled_from(
    [
        b"/Type", b"/A#20B", b"/\xc3\xa9", b"/a\x01b", b"/", b"0", b"12", b"-3", b"+4", b".5", b"1.", b"1,5", b"--2",
        b"1 0 R", b"1 0 R", b"12 0 R", b"0 0 R", b"1\x0b0 R", b"1 0\x0bR", b"1\x000 R", b"123456789012 0 R",
        b"true", b"false", b"null", b"truex", b"(str)", b"(a\\)b)", b"<48656C>", b"<4 8>", b"% comment\n1",
    ]
)  # fmt: skip
_KEYS = st.sampled_from([b"/A", b"/B", b"/Type", b"/Length", b"/A#20B", b"/\xc3\xa9", b"/W"])


def _array(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    items = st.lists(st.tuples(_SPACES, children), max_size=5)
    return st.tuples(items, _SPACES).map(lambda t: b"[" + b"".join(s + c for s, c in t[0]) + t[1] + b"]")


def _dictionary(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    items = st.lists(st.tuples(_SPACES, _KEYS, _SPACES, children), max_size=4)
    return st.tuples(items, _SPACES).map(
        lambda t: b"<<" + b"".join(a + k + b + c for a, k, b, c in t[0]) + t[1] + b">>"
    )


_OBJECTS = st.recursive(_SCALARS, lambda children: _array(children) | _dictionary(children), max_leaves=12)


@settings(max_examples=3000, deadline=None)
@given(
    body=_OBJECTS,
    after=st.sampled_from([b"", b" ", b"\nendobj", b"x", b"stream\nabc\nendstream", b" % c\nstream\nabc\nendstream"]),
    strict=st.booleans(),
)
@pytest.mark.slow
def test_same_objects_and_errors_as_pyhanko_on_generated_objects(body: bytes, after: bytes, strict: bool) -> None:
    """Whole objects (nested arrays and dictionaries) with odd values, spacing and escapes inside."""
    data = body + after
    fast = outcome(pyhanko_parser.read_object, data, strict)
    assert fast == outcome(pyhanko_parser.original_read_object, data, strict)


@pytest.mark.parametrize(
    "data",
    [
        b"<< /Type /Page /Parent 3 0 R /MediaBox [ 0 0 595.275591 841.889764 ] /Annots [ 42 0 R 45 0 R ] >>",
        b"<</W [ 3 [ 250 ] 9 [ 778 333 ] ]/DW 1000/Kids[1 0 R 2 0 R]/Flag true/N null>>",
        b"<< /Length 3 >>\nstream\nabc\nendstream\nendobj",
        b"<< /Length 9 0 R >>stream\r\nabc\nendstream",
        b"<< /A (text) /B <FEFF0041> /C [(x) <00>] >>",
        b"<< /A 1 /A 2 >>",
        b"[ 1 2 0 R 3 ]",
        b"[1 2 0 R]",
        b"12 0 R",
        b"12 0 R ",
        b"<< /Name/Other/Empty/ >>",
        b"<< /A [ ] /B << >> >>",
        b"<< /A 1 % comment\n /B 2 >>",
        b"[ 1 2 3",
        b"<< /A",
        b" 5",
    ],
)
@pytest.mark.parametrize("strict", [True, False])
def test_same_objects_and_errors_as_pyhanko_on_chosen_syntax(data: bytes, strict: bool) -> None:
    fast = outcome(pyhanko_parser.read_object, data, strict)
    assert fast == outcome(pyhanko_parser.original_read_object, data, strict)


@pytest.mark.parametrize("data", [b"<48 65 6C>", b"12", b"/Name", b"(text)", b"[1 /A]", b"<< /A 1 >>", b"1 0 R "])
def test_without_a_container_as_pyhanko(data: bytes) -> None:
    """pyHanko reads strings, numbers and names with no container reference (and fails on a dictionary)."""

    def read(reader: Callable[..., Any]) -> tuple[Any, ...]:
        stream = io.BytesIO(data)
        try:
            value = reader(stream, None)
        except Exception as exc:
            return ("error", type(exc).__name__, str(exc))
        return ("ok", type(value).__name__, str(value) if isinstance(value, str | int) else None, stream.tell())

    fast = read(pyhanko_parser.read_object)
    with pyhanko_speedups.originals():
        assert fast == read(pyhanko_parser.original_read_object)


def test_integer_arrays_and_references_are_read() -> None:
    status, value, position = outcome(pyhanko_parser.read_object, b"<< /W [ 3 [ 250 500 ] ] /P 4 0 R >>x", True)
    assert status == "ok"
    assert position == 35
    assert value[2][0][3] == (
        "array",
        ("Reference", 7, 0),
        [
            ("NumberObject", "3", ("Reference", 7, 0)),
            (
                "array",
                ("Reference", 7, 0),
                [("NumberObject", "250", ("Reference", 7, 0)), ("NumberObject", "500", ("Reference", 7, 0))],
            ),
        ],
    )
    assert value[2][1][3] == ("ref", 4, 0, ("Reference", 7, 0))


def views(pdf: bytes) -> list[Any]:
    """Per revision: every object as the revision's resolver copies it, the paths to every reference,
    and the references the catalogue depends on."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    out: list[Any] = []
    for revision in range(reader.xrefs.total_revisions):
        resolver = reader.get_historical_resolver(revision)
        refs = sorted(reader.xrefs.explicit_refs_in_revision(revision), key=lambda r: (r.idnum, r.generation))
        objects = [tree(resolver(generic.Reference(r.idnum, r.generation, resolver))) for r in refs]
        resolver._load_reverse_xref_cache()
        access = resolver._indirect_object_access_cache
        paths = {(ref.idnum, ref.generation): sorted(map(str, p)) for ref, p in access.items()}
        root = resolver.trailer_view.raw_get("/Root")
        dependencies = sorted((r.idnum, r.generation) for r in resolver.collect_dependencies(root))
        since = sorted((r.idnum, r.generation) for r in resolver.collect_dependencies(root, since_revision=revision))
        out.append((revision, objects, paths, dependencies, since))
    return out


@pytest.fixture(scope="module")
def files(signed_letter: SignedLetter, text_changed_letter: bytes) -> dict[str, bytes]:
    return {
        "signed": signed_letter.signed,
        "issued": signed_letter.sealed,
        "text changed after issue": text_changed_letter,
    }


def test_installed_on_the_pyhanko_release_it_reproduces() -> None:
    assert metadata.version("pyhanko") == pyhanko_history.PYHANKO_VERSION
    assert HistoricalResolver._subsume_object is pyhanko_history.subsume_object
    assert HistoricalResolver._load_reverse_xref_cache is pyhanko_history.load_reverse_xref_cache
    assert HistoricalResolver._collect_indirect_references is pyhanko_history.collect_indirect_references


@pytest.mark.parametrize("name", ["signed", "issued", "text changed after issue"])
def test_revision_views_are_the_same_as_pyhankos(files: dict[str, bytes], name: str) -> None:
    fast = views(files[name])
    with pyhanko_speedups.originals():
        original = views(files[name])
    assert fast == original
    revisions = len(fast)
    assert revisions >= 2
    assert all(len(paths) > 20 for _, _, paths, _, _ in fast), "the walk found the references"


def test_verdicts_are_the_same_as_pyhankos(
    files: dict[str, bytes], signed_letter: SignedLetter, byte_flipped_letter: bytes
) -> None:
    roots = [signed_letter.pki.root_certificate()]
    cases = {**files, "byte flipped": byte_flipped_letter}
    for name, pdf in cases.items():
        fast = verify_pdf(pdf, roots)
        with pyhanko_speedups.originals():
            original = verify_pdf(pdf, roots)
        assert fast == original, name
    assert not verify_pdf(files["issued"], roots).altered
    assert verify_pdf(files["text changed after issue"], roots).altered
    assert verify_pdf(cases["byte flipped"], roots).altered


def test_a_verification_leaves_no_cached_objects(signed_letter: SignedLetter, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify_pdf empties its reader's caches, so that its objects are freed without the collector."""
    readers: list[PdfFileReader] = []
    original_init = PdfFileReader.__init__

    def keep(self: PdfFileReader, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        readers.append(self)

    monkeypatch.setattr(PdfFileReader, "__init__", keep)
    report = verify_pdf(signed_letter.sealed, [signed_letter.pki.root_certificate()])
    assert report.all_trusted_and_unaltered
    assert len(readers) == 1
    assert readers[0].resolved_objects == {}
    assert readers[0]._historical_resolver_cache == {}


@pytest.mark.parametrize(
    "value",
    [
        "Development Root CA - NOT FOR PRODUCTION",
        "  Lê   Xuân  Hoa ",
        "ỦY BAN NHÂN DÂN",
        "a\u00adb",
        "x\u0340y",
        "",
        "\ufb01",
    ],
)
def test_name_preparation_is_asn1cryptos(value: str) -> None:
    def prepared(function: Any) -> Any:
        try:
            return ("ok", function(None, value))
        except Exception as exc:
            return ("error", type(exc), str(exc))

    fast = prepared(pyhanko_speedups.ldap_string_prep)
    with pyhanko_speedups.originals():
        original = prepared(x509.NameTypeAndValue._ldap_string_prep)
    assert fast == original
    assert prepared(pyhanko_speedups.ldap_string_prep) == original  # a second time, from the cache
