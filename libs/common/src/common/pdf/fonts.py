"""The committed Liberation Serif fonts and their pyHanko-ready derivatives.

WeasyPrint loads the four TTF files through ``@font-face`` (never from the host). pyHanko, which
draws the number, date and stamp text, writes glyph widths in raw font units and so needs a font
with 1000 units per em (Liberation has 2048: text would come out spaced twice as wide). The
derivative is made in memory, once per process: subset to Latin + Vietnamese, then rescaled.
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fontTools import subset  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fontTools.ttLib.scaleUpem import scale_upem  # type: ignore[import-untyped]
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator

__all__ = ["FONT_DIR", "FontStyle", "font_path", "pyhanko_font", "vietnamese_font_bytes"]

FONT_DIR = Path(__file__).resolve().parent / "fonts"
"""Directory holding the committed Liberation Serif TTF files and their licence."""

FontStyle = Literal["Regular", "Bold", "Italic", "BoldItalic"]

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


def font_path(style: FontStyle) -> Path:
    """Return the path of one committed Liberation Serif face.

    Args:
        style: ``"Regular"``, ``"Bold"``, ``"Italic"`` or ``"BoldItalic"``.

    Returns:
        The TTF file path.
    """
    return FONT_DIR / f"LiberationSerif-{style}.ttf"


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


@dataclass(frozen=True)
class _InMemoryFontFactory(FontEngineFactory):
    style: FontStyle
    font_size: int

    def create_font_engine(self, writer: Any, obj_stream: Any = None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(
            writer=writer,
            font_handle=io.BytesIO(vietnamese_font_bytes(self.style)),
            font_size=self.font_size,
            ot_script_tag="latn",
            ot_language_tag="VIT ",
            obj_stream=obj_stream,
        )


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
