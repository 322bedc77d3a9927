"""The committed Liberation Serif fonts and their pyHanko-ready derivatives.

WeasyPrint loads the four TTF files through ``@font-face`` (never from the host). pyHanko, which
draws the number, date and stamp text, writes glyph widths in raw font units and so needs a font
with 1000 units per em (Liberation has 2048: text would come out spaced twice as wide). The
derivative is made in memory, once per process: subset to Latin + Vietnamese, then rescaled.

pyHanko embeds, for each text it draws, a subset of that font holding the glyphs the text uses, made
with fontTools: ≈ 7 ms per text, four texts per issued document (the blank number and date lines,
then the filled ones). The subsets are cached here, once per process per face and glyph set, and the
ten digits are always included, so that the number and date lines of one organisation (which differ
by their digits only) share one subset after the first document.
"""

from __future__ import annotations

import functools
import io
import logging
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import uharfbuzz  # type: ignore[import-untyped]
from fontTools import subset  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fontTools.ttLib.scaleUpem import scale_upem  # type: ignore[import-untyped]
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.api import FontEngine, FontEngineFactory
from pyhanko.pdf_utils.font.opentype import CIDFontType2, GlyphAccumulator, _read_ps_name

from common.pdf.fontfiles import FONT_DIR, FontStyle, font_path

__all__ = [
    "FIELD_CODEPOINTS",
    "FONT_DIR",
    "FontStyle",
    "break_lines",
    "font_path",
    "missing_glyphs",
    "page_codepoints",
    "pyhanko_font",
    "text_width_pt",
    "vietnamese_font_bytes",
]


_VIETNAMESE_CODEPOINTS: tuple[int, ...] = (
    *range(0x20, 0x7F),
    *range(0xA0, 0x100),
    0x102,
    0x103,
    0x110,
    0x111,
    0x128,
    0x129,
    0x168,
    0x169,
    0x1A0,
    0x1A1,
    0x1AF,
    0x1B0,
    0x300,
    0x301,
    0x302,
    0x303,
    0x309,
    0x323,
    *range(0x1EA0, 0x1EFA),
    0x2013,
    0x2014,
    0x2018,
    0x2019,
    0x201C,
    0x201D,
    0x2026,
)


FIELD_CODEPOINTS = frozenset(_VIETNAMESE_CODEPOINTS)
"""What the text drawn by pyHanko (number, date and annex reference fields) can show: its font is
the Latin + Vietnamese subset of :func:`vietnamese_font_bytes`."""

_STYLES: tuple[FontStyle, ...] = ("Regular", "Bold", "Italic", "BoldItalic")
_LAID_OUT_AS_SPACE = frozenset(" \t\n\r")
"""Whitespace the HTML layout turns into spaces or line breaks: needs no glyph of its own."""


@functools.cache
def page_codepoints() -> frozenset[int]:
    """The characters every committed face has a glyph for (the page text may use any face).

    Returns:
        Unicode code points of the intersection of the four faces' character maps.
    """
    maps = [set(TTFont(font_path(style), lazy=True).getBestCmap()) for style in _STYLES]
    return frozenset(set.intersection(*maps))


def missing_glyphs(text: str, codepoints: frozenset[int]) -> str:
    """The characters of ``text`` that ``codepoints`` lacks, each once, in order of appearance.

    Args:
        text: NFC text.
        codepoints: :func:`page_codepoints` or :data:`FIELD_CODEPOINTS`.

    Returns:
        The missing characters (empty: every character can be drawn).
    """
    missing = dict.fromkeys(c for c in text if ord(c) not in codepoints and c not in _LAID_OUT_AS_SPACE)
    return "".join(missing)


@functools.cache
def _hb_font(style: FontStyle) -> tuple[Any, int]:
    face = uharfbuzz.Face(font_path(style).read_bytes())
    return uharfbuzz.Font(face), face.upem


def text_width_pt(text: str, style: FontStyle, size_pt: float) -> float:
    """The advance width of ``text`` set on one line in a committed face (HarfBuzz shaping).

    Args:
        text: The text.
        style: The face.
        size_pt: The size.

    Returns:
        The width in points.
    """
    font, upem = _hb_font(style)
    buf = uharfbuzz.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    uharfbuzz.shape(font, buf, {})
    return float(sum(pos.x_advance for pos in buf.glyph_positions) / upem * size_pt)


def break_lines(text: str, style: FontStyle, size_pt: float, width_pt: float) -> tuple[str, ...]:
    """Break ``text`` at its spaces into lines of at most ``width_pt`` (a word wider stays whole).

    No-break spaces (U+00A0) never break. The renderer and the form filling both break the annex
    reference line with this, so that the lines the signer saw reserved are the lines filled.

    Args:
        text: The text.
        style: The face.
        size_pt: The size.
        width_pt: The width of a line.

    Returns:
        The lines, greedy (each as full as it can be).
    """
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and text_width_pt(candidate, style, size_pt) > width_pt:
            lines.append(current)
            candidate = word
        current = candidate
    if current or not lines:
        lines.append(current)
    return tuple(lines)


@functools.cache
def vietnamese_font_bytes(style: FontStyle) -> bytes:
    """Return a Latin + Vietnamese subset of a face, rescaled to 1000 units per em (cached).

    Args:
        style: The face.

    Returns:
        The TTF file as bytes.
    """
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables = [*options.drop_tables, "FFTM"]
    font = TTFont(font_path(style))
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_VIETNAMESE_CODEPOINTS)
    fonttools_log = logging.getLogger("fontTools")
    level = fonttools_log.level
    fonttools_log.setLevel(logging.ERROR)
    try:
        subsetter.subset(font)
        scale_upem(font, 1000)
    finally:
        fonttools_log.setLevel(level)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


_ALWAYS_EMBEDDED = "0123456789"
"""Characters added to every embedded subset, so that numbers and dates reuse one cached subset."""
_SUBSET_CACHE_SIZE = 64
_subset_cache: OrderedDict[tuple[FontStyle, frozenset[int]], bytes] = OrderedDict()
_subset_cache_lock = threading.Lock()


def _cached_font_file(writer: Any, descriptor: Any, compressed: bytes) -> Any:
    stream = generic.StreamObject(
        {generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode")},
        encoded_data=compressed,
    )
    ref = writer.add_object(stream)
    descriptor[generic.pdf_name("/FontFile2")] = ref
    return ref


@dataclass(frozen=True)
class _SharedFace:
    """A face parsed once per process and only read afterwards (shaping, widths, names)."""

    font_bytes: bytes
    hb_font: Any
    tt: TTFont
    ps_name: str
    glyph_set: Any
    units_per_em: int


@functools.cache
def _shared_face(style: FontStyle) -> _SharedFace:
    font_bytes = vietnamese_font_bytes(style)
    tt = TTFont(io.BytesIO(font_bytes))
    # Load every table pyHanko reads now, so that later reads never fill a lazy cache concurrently.
    for tag in ("head", "hhea", "hmtx", "cmap", "name", "OS/2", "post", "glyf", "loca", "maxp"):
        tt[tag]
    tt.getGlyphOrder()
    return _SharedFace(
        font_bytes=font_bytes,
        hb_font=uharfbuzz.Font(uharfbuzz.Face(font_bytes)),
        tt=tt,
        ps_name=_read_ps_name(tt),
        glyph_set=tt.getGlyphSet(preferCFF=True),
        units_per_em=tt["head"].unitsPerEm,
    )


class _CachedSubsetAccumulator(GlyphAccumulator):
    """pyHanko's glyph accumulator sharing one parsed face per process and caching its subsets.

    ``GlyphAccumulator.__init__`` parses the font file again for every text (≈ 1.9 ms: glyph table,
    glyph names); this constructor sets the same attributes from :func:`_shared_face` instead
    (``test_fonts.py`` checks that it sets exactly the attributes pyHanko's constructor sets). The
    subset keeps the original glyph IDs (pyHanko's TrueType mode), so one cached subset serves every
    text drawn with the same glyphs; pyHanko still writes the widths, ToUnicode map and font
    dictionaries of each text. Subsetting is destructive, so a cache miss subsets a fresh copy of the
    face, never the shared one.
    """

    def __init__(self, style: FontStyle, writer: Any, font_size: int, obj_stream: Any = None) -> None:
        face = _shared_face(style)
        FontEngine.__init__(
            self, writer, face.ps_name, embedded_subset=True, obj_stream=obj_stream, font_size=font_size
        )
        self._style: FontStyle = style
        self.hb_font = face.hb_font
        self.tt = face.tt
        self._font_ref = writer.allocate_placeholder()
        self.cff_charset = None
        self.use_raw_gids = True
        self.cidfont_obj = CIDFontType2(face.tt, face.ps_name, self.subset_prefix)
        self.features = None
        self.units_per_em = face.units_per_em
        self._glyphs: dict[int, tuple[int, int]] = {}
        self._glyph_set = face.glyph_set
        self._cid_to_unicode: dict[int, str] = {}
        self._GlyphAccumulator__reverse_cmap = None
        self.ot_language_tag = "VIT "
        self.ot_script_tag = "latn"
        self.writing_direction = None
        self.bcp47_lang_code = None
        self._subset_created = self._write_prepared = False
        self.shape(_ALWAYS_EMBEDDED, with_actual_text=False)

    def _extract_subset(self, options: Any = None) -> None:
        key = (self._style, frozenset(self._glyphs))
        with _subset_cache_lock:
            compressed = _subset_cache.get(key)
            if compressed is not None:
                _subset_cache.move_to_end(key)
        if compressed is None:
            self.tt = TTFont(io.BytesIO(_shared_face(self._style).font_bytes))
            super()._extract_subset(options)
            out = io.BytesIO()
            self.tt.save(out)
            compressed = zlib.compress(out.getvalue())
            with _subset_cache_lock:
                _subset_cache[key] = compressed
                while len(_subset_cache) > _SUBSET_CACHE_SIZE:
                    _subset_cache.popitem(last=False)
        cidfont = self.cidfont_obj
        descriptor = cidfont._font_descriptor
        cidfont.set_font_file = functools.partial(  # type: ignore[method-assign]
            _cached_font_file, descriptor=descriptor, compressed=compressed
        )


@dataclass(frozen=True)
class _InMemoryFontFactory(FontEngineFactory):
    style: FontStyle
    font_size: int

    def create_font_engine(self, writer: Any, obj_stream: Any = None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs:
            obj_stream = writer.prepare_object_stream()
        return _CachedSubsetAccumulator(self.style, writer, self.font_size, obj_stream)


def pyhanko_font(style: FontStyle, size: int) -> FontEngineFactory:
    """Return a pyHanko font engine factory for a Liberation Serif face, embedded as a subset.

    Args:
        style: The face.
        size: Font size in points (pyHanko needs whole points); give the same size to the
            ``TextBoxStyle``.

    Returns:
        A factory usable as ``TextBoxStyle(font=...)``.
    """
    return _InMemoryFontFactory(style=style, font_size=size)
