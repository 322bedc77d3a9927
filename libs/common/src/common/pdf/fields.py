"""Form fields of a rendered document: names, boxes, text styles and field creation.

The document number (ô 3) and the place-and-date line (ô 4) of a document that is not issued yet are
AcroForm text fields whose value is empty and whose appearance shows the blank, reserved line
("Số:      /VPUB-TTĐH"). After the signer's certification signature the clerk fills them (new ``/V``
and ``/AP``, read-only), which validators classify as form filling. The signer's and the seal's
signature fields are created by :func:`common.pdf.signing.prepare_signature_fields`.
"""

from __future__ import annotations

from typing import Any

from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.form_tools import TextFieldContent
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.text import TextBoxStyle

from common.pdf.fonts import FontStyle, pyhanko_font
from common.pdf.results import FIELD_DATE, FIELD_NUMBER, FIELD_SEAL, FIELD_SIGNATURE, FieldBox

# pyHanko's generic PDF object constructors are untyped.
_Dictionary: Any = generic.DictionaryObject
_Number: Any = generic.NumberObject
_Float: Any = generic.FloatObject

__all__ = [
    "DATE_FONT_SIZE",
    "FIELD_DATE",
    "FIELD_NUMBER",
    "FIELD_SEAL",
    "FIELD_SIGNATURE",
    "LINE_HEIGHT_EM",
    "NUMBER_FONT_SIZE",
    "FieldBox",
    "add_text_field",
    "date_style",
    "default_appearance",
    "number_style",
]

NUMBER_FONT_SIZE = 13
DATE_FONT_SIZE = 14
LINE_HEIGHT_EM = 1.35
"""Height of a reserved line, in em; the CSS ``.fill`` box uses the same value."""

# Liberation Serif: ascent 0.891 em, descent 0.216 em. In a CSS line box of 1.35 em the baseline
# sits (1.35 - 1.107) / 2 + 0.216 = 0.3375 em above the bottom edge.
_BASELINE_ABOVE_BOTTOM_EM = (LINE_HEIGHT_EM - 0.891 - 0.216) / 2 + 0.216


def _line_style(face: FontStyle, size: int) -> TextBoxStyle:
    # pyHanko puts the baseline of a one-line text box exactly at its bottom margin.
    bottom = size * _BASELINE_ABOVE_BOTTOM_EM
    return TextBoxStyle(
        font=pyhanko_font(face, size),
        font_size=size,
        box_layout_rule=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MIN,
            # pyHanko annotates the margins as int but computes with floats; keep the exact value.
            margins=layout.Margins(left=0, right=0, top=0, bottom=bottom),  # type: ignore[arg-type]
            inner_content_scaling=layout.InnerScaling.NO_SCALING,
        ),
    )


def number_style() -> TextBoxStyle:
    """Return the text style of the number line (13 pt, upright, centred)."""
    return _line_style("Regular", NUMBER_FONT_SIZE)


def date_style() -> TextBoxStyle:
    """Return the text style of the place-and-date line (14 pt, italic, centred)."""
    return _line_style("Italic", DATE_FONT_SIZE)


def _ensure_acroform(writer: Any) -> generic.DictionaryObject:
    root = writer.root
    try:
        acroform = root["/AcroForm"]
    except KeyError:
        acroform = _Dictionary({pdf_name("/Fields"): generic.ArrayObject()})
        root[pdf_name("/AcroForm")] = writer.add_object(acroform)
        writer.update_root()
        acroform = root["/AcroForm"]
    assert isinstance(acroform, generic.DictionaryObject)
    return acroform


def add_text_field(writer: Any, name: str, box: FieldBox, placeholder: str, style: TextBoxStyle) -> None:
    """Create an empty, single-widget text field whose appearance shows ``placeholder``.

    The field's value stays empty, so :func:`pyhanko.pdf_utils.form_tools.populate_static_text_field`
    still treats it as unfilled. The appearance uses an embedded subset font, so no viewer ever needs
    to regenerate it.

    Args:
        writer: A pyHanko writer (``PdfFileWriter`` or ``IncrementalPdfFileWriter``).
        name: Field name (no dots).
        box: Position of the field.
        placeholder: Text drawn until the field is filled.
        style: Text style of the appearance.
    """
    if "." in name:
        raise ValueError("field names must not contain dots")
    page_ref = writer.find_page_for_modification(box.page)[0]
    page = page_ref.get_object()
    widget = _Dictionary(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/Widget"),
            pdf_name("/FT"): pdf_name("/Tx"),
            pdf_name("/T"): generic.TextStringObject(name),
            pdf_name("/V"): generic.TextStringObject(""),
            pdf_name("/F"): _Number(4),
            pdf_name("/Ff"): _Number(0),
            pdf_name("/Rect"): generic.ArrayObject(_Float(v) for v in box.as_tuple()),
            pdf_name("/P"): page_ref,
        }
    )
    content = TextFieldContent(
        writer=writer,
        text_content=placeholder,
        text_style=style,
        box=layout.BoxConstraints(width=box.width, height=box.height),
    )
    content.apply_appearance(widget)
    # The appearance's font (an embedded Liberation Serif subset holding the blank line's glyphs and
    # the ten digits, so every glyph of the filled line too) becomes the field's default-appearance
    # font: a viewer that regenerates the appearance from the value draws it in the same face and
    # size, never in Helvetica.
    font_name = _DA_FONT_NAMES[name]
    font_ref = _appearance_font(widget)
    widget[pdf_name("/DA")] = generic.TextStringObject(default_appearance(name))
    widget_ref = writer.add_object(widget)

    annots = page.get("/Annots")
    if annots is None:
        page[pdf_name("/Annots")] = generic.ArrayObject([widget_ref])
    else:
        annots.get_object().append(widget_ref)
        if isinstance(annots, generic.IndirectObject):
            writer.mark_update(annots)
    writer.update_container(page)

    acroform = _ensure_acroform(writer)
    acroform["/Fields"].append(widget_ref)
    resources = acroform.get("/DR")
    if resources is None:
        resources = _Dictionary({pdf_name("/Font"): _Dictionary()})
        acroform[pdf_name("/DR")] = resources
    resources = resources.get_object()
    resources["/Font"].get_object()[pdf_name(font_name)] = font_ref
    # The document-wide default (inherited by any text field without its own): the number's font.
    acroform[pdf_name("/DA")] = generic.TextStringObject(default_appearance(FIELD_NUMBER))
    writer.update_container(acroform)


_DA_FONT_NAMES = {FIELD_NUMBER: "/LiberationSerif", FIELD_DATE: "/LiberationSerifItalic"}
_DA_FONT_SIZES = {FIELD_NUMBER: NUMBER_FONT_SIZE, FIELD_DATE: DATE_FONT_SIZE}


def default_appearance(name: str) -> str:
    """The ``/DA`` string of the number or date field, e.g. ``/LiberationSerif 13 Tf 0 g``.

    The font name refers to the AcroForm's ``/DR``, where the field's embedded Liberation Serif
    subset is registered when the field is created.
    """
    return f"{_DA_FONT_NAMES[name]} {_DA_FONT_SIZES[name]} Tf 0 g"


def _appearance_font(widget: Any) -> Any:
    """The (indirect) font of a widget's normal appearance stream, as pyHanko wrote it."""
    stream = widget["/AP"]["/N"]
    fonts = stream.get_object()["/Resources"]["/Font"]
    (font_ref,) = (fonts.raw_get(key) for key in fonts)
    return font_ref
