"""pyHanko's text fonts: the shared-face accumulator matches pyHanko's own, and its subsets are reused."""

from __future__ import annotations

import io

from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.writer import PdfFileWriter

from common.pdf import fonts
from common.pdf.fonts import pyhanko_font, vietnamese_font_bytes


def test_shared_face_accumulator_sets_what_pyhanko_sets() -> None:
    """Same attributes as GlyphAccumulator.__init__ (a pyHanko upgrade that adds one fails here)."""
    writer = PdfFileWriter()
    ours = pyhanko_font("Italic", 14).create_font_engine(writer)
    theirs = GlyphAccumulator(
        writer=writer,
        font_handle=io.BytesIO(vietnamese_font_bytes("Italic")),
        font_size=14,
        ot_script_tag="latn",
        ot_language_tag="VIT ",
    )
    assert set(vars(ours)) - {"_style"} == set(vars(theirs))
    text = "Cần Thơ, ngày 27 tháng 11 năm 2026"
    shaped_ours, shaped_theirs = ours.shape(text), theirs.shape(text)
    assert shaped_ours.graphics_ops == shaped_theirs.graphics_ops
    assert shaped_ours.x_advance == shaped_theirs.x_advance
    assert ours.units_per_em == theirs.units_per_em == 1000
    assert ours.cidfont_obj["/BaseFont"].split("+")[1] == theirs.cidfont_obj["/BaseFont"].split("+")[1]


def test_subsets_cached_per_glyph_set_and_include_the_digits() -> None:
    fonts._subset_cache.clear()
    engines = []
    for text in ("Số: 01/VPUB-TTĐH", "Số: 97/VPUB-TTĐH", "Số:      /VPUB-TTĐH"):
        writer = PdfFileWriter()
        engine = pyhanko_font("Regular", 13).create_font_engine(writer)
        engine.shape(text)
        engine.prepare_write()
        engines.append(engine)
    # the digits are always embedded, so the three lines share one subset
    assert len(fonts._subset_cache) == 1
    (subset,) = fonts._subset_cache.values()
    # the shared face was never subsetted in place
    assert len(fonts._shared_face("Regular").tt.getGlyphOrder()) > 300
    for engine in engines:
        descriptor = engine.cidfont_obj["/FontDescriptor"]
        assert descriptor["/FontFile2"].get_object().encoded_data == subset
