"""Form fields of a rendered document: names, boxes, text styles and field creation.

The document number (ô 3) and the place-and-date line (ô 4) of a document that is not issued yet are
AcroForm text fields whose value is empty and whose appearance shows the blank, reserved line
("Số:      /VP-TTĐH"). After the signer's certification signature the clerk fills them (new ``/V``
and ``/AP``, read-only), which validators classify as form filling. The signer's and the seal's
signature fields are created by :func:`common.pdf.signing.prepare_signature_fields`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.form_tools import TextFieldContent, populate_static_text_field
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.text import TextBoxStyle

from common.pdf.fonts import FontStyle, break_lines, pyhanko_font
from common.pdf.results import (
    ANNEX_REFERENCE_PREFIX,
    FIELD_DATE,
    FIELD_NUMBER,
    FIELD_SEAL,
    FIELD_SIGNATURE,
    AnnexReference,
    FieldBox,
    ReferencePart,
    annex_reference_field,
)

# pyHanko's generic PDF object constructors are untyped.
_Dictionary: Any = generic.DictionaryObject
_Number: Any = generic.NumberObject
_Float: Any = generic.FloatObject

__all__ = [
    "ANNEX_REFERENCE_FONT_SIZE",
    "DATE_FONT_SIZE",
    "FIELD_DATE",
    "FIELD_NUMBER",
    "FIELD_SEAL",
    "FIELD_SIGNATURE",
    "LINE_HEIGHT_EM",
    "NUMBER_FONT_SIZE",
    "AnnexReference",
    "FieldBox",
    "ReferencePart",
    "add_annex_reference_fields",
    "add_text_field",
    "annex_reference_field",
    "break_reference",
    "date_style",
    "default_appearance",
    "fill_annex_references",
    "number_style",
    "reference_line_width",
]

NUMBER_FONT_SIZE = 13
DATE_FONT_SIZE = 14
ANNEX_REFERENCE_FONT_SIZE = 14
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
    font_name = _da_font_name(name)
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


def _da_font_name(name: str) -> str:
    # A field's /DR font must hold every glyph of its filled value. The number's and the date's is the
    # subset their blank line was drawn with; an annex reference has one of its own, shared by its
    # lines (a filled line may take words from the next one: add_annex_reference_fields).
    if name.startswith(ANNEX_REFERENCE_PREFIX):
        return f"/LiberationSerifItalic_{name.rpartition('_')[0]}"
    return _DA_FONT_NAMES[name]


def default_appearance(name: str) -> str:
    """The ``/DA`` string of the number, date or an annex reference field, e.g. ``/LiberationSerif 13 Tf 0 g``.

    The font name refers to the AcroForm's ``/DR``, where the field's embedded Liberation Serif
    subset is registered when the field is created.
    """
    if name.startswith(ANNEX_REFERENCE_PREFIX):
        return f"{_da_font_name(name)} {ANNEX_REFERENCE_FONT_SIZE} Tf 0 g"
    return f"{_DA_FONT_NAMES[name]} {_DA_FONT_SIZES[name]} Tf 0 g"


# --- The annex reference line -----------------------------------------------------------------------
#
# "(Kèm theo Quyết định số 01/QĐ-VP ngày 27 tháng 11 năm 2026 của Chủ tịch …)" under an annex's
# title repeats the number and date of the document, which exist only once the signer has signed.
# Like the header's number and date, each line of it is a text field of the signer's revision
# showing the blank form, filled at issue (form filling, within the signer's DocMDP and field lock).
# pyHanko sets a field's lines flush left, and the reference is centred line by line: hence one
# single-line, centred field per line. The signer's revision also records the reference's wording
# (its parts, the number and date as slots) on the first line's field, so that the filling needs
# nothing but the number and the date.

_PARTS_KEY = "/AnnexReferenceWording"
"""Private key of the first line's field: the reference's parts (strings, and the names /Number and
/Date for the slots)."""
_REFERENCE_SLACK_PT = 4.0
_DATE_PHRASE = re.compile(r"ngày \d{1,2} tháng \d{1,2} năm \d{4}$")


def reference_line_width(box_width_pt: float) -> float:
    """The width a reference line is broken to, inside a box of ``box_width_pt`` (a little air, so that
    the renderer's and the filling's breaks agree to the point)."""
    return box_width_pt - _REFERENCE_SLACK_PT


def break_reference(text: str, box_width_pt: float) -> tuple[str, ...]:
    """The lines of an annex reference in a box of ``box_width_pt`` (italic, 14 pt)."""
    return break_lines(text, "Italic", ANNEX_REFERENCE_FONT_SIZE, reference_line_width(box_width_pt))


def add_annex_reference_fields(writer: Any, references: Sequence[AnnexReference], present: Sequence[str]) -> None:
    """Create the empty text fields of the annex reference lines (those the document lacks).

    Args:
        writer: A pyHanko writer over the rendered document.
        references: ``RenderedPdf.annex_references``.
        present: Names of the fields the document has already.
    """
    style = _line_style("Italic", ANNEX_REFERENCE_FONT_SIZE)
    for reference in references:
        for name, box, placeholder in zip(reference.field_names, reference.boxes, reference.placeholders, strict=True):
            if name not in present:
                add_text_field(writer, name, box, placeholder, style)
        first_ref = next(
            r for r in writer.root["/AcroForm"]["/Fields"] if r.get_object().get("/T") == reference.field_names[0]
        )
        first = first_ref.get_object()
        if _PARTS_KEY in first:
            continue
        first[pdf_name(_PARTS_KEY)] = generic.ArrayObject(
            generic.TextStringObject(text) if kind == "text" else pdf_name(f"/{kind.capitalize()}")
            for kind, text in reference.parts
        )
        # The default-appearance font of the reference: every glyph of its wording (the digits of a
        # number and a date are always in a subset), whichever line a word lands on once filled.
        engine = style.font.create_font_engine(writer)
        engine.shape("".join(text for _, text in reference.parts))
        resources = writer.root["/AcroForm"]["/DR"]["/Font"]
        resources[pdf_name(_da_font_name(reference.field_names[0]))] = engine.as_resource()


def _reference_fields(writer: Any) -> dict[int, list[Any]]:
    """The reference fields of the document by annex, line by line (references)."""
    try:
        refs = writer.root["/AcroForm"]["/Fields"]
    except KeyError:
        return {}
    by_annex: dict[int, dict[int, Any]] = {}
    for ref in refs:
        name = str(ref.get_object().get("/T"))
        if name.startswith(ANNEX_REFERENCE_PREFIX):
            annex, line = name.removeprefix(ANNEX_REFERENCE_PREFIX).split("_")
            by_annex.setdefault(int(annex), {})[int(line)] = ref
    return {annex: [lines[line] for line in sorted(lines)] for annex, lines in by_annex.items()}


def fill_annex_references(writer: Any, number_text: str | None, date_text: str | None) -> None:
    """Fill the reference lines of every annex with the document's number and date.

    Each line gets its value and appearance (centred, italic, embedded Liberation Serif), is made
    read-only and keeps a ``/DA`` naming that font; lines the filled reference does not need are
    filled empty.

    Args:
        writer: The incremental writer of the issuing revision.
        number_text: The number, as filled in the header (``01/QĐ-VP``).
        date_text: The place-and-date line as filled in the header; its ``ngày … năm …`` phrase is used.

    Raises:
        ValueError: A reference needs the number or the date and it is not given, or it no longer fits
            its lines.
    """
    style = _line_style("Italic", ANNEX_REFERENCE_FONT_SIZE)
    for annex, refs in sorted(_reference_fields(writer).items()):
        first = refs[0].get_object()
        text = ""
        for part in first[_PARTS_KEY]:
            if isinstance(part, generic.NameObject):
                value = number_text if part == "/Number" else _date_phrase(date_text)
                if value is None:
                    raise ValueError(f"the reference of annex {annex} needs the document's number and date")
                text += value
            else:
                text += str(part)
        width = float(first["/Rect"][2]) - float(first["/Rect"][0])
        lines = break_reference(text, width)
        if len(lines) > len(refs):
            raise ValueError(f"the reference of annex {annex} needs {len(lines)} lines, {len(refs)} are reserved")
        for index, ref in enumerate(refs):
            shown = lines[index] if index < len(lines) else ""
            name = str(ref.get_object()["/T"])
            populate_static_text_field(writer, name, style, shown)
            field = ref.get_object()
            field[pdf_name("/V")] = generic.TextStringObject(shown)
            field[pdf_name("/DA")] = generic.TextStringObject(default_appearance(name))
            writer.mark_update(ref)


def _date_phrase(date_text: str | None) -> str | None:
    if date_text is None:
        return None
    match = _DATE_PHRASE.search(date_text)
    if match is None:
        raise ValueError(f"no 'ngày … tháng … năm …' in the date line {date_text!r}")
    return match.group()


def _appearance_font(widget: Any) -> Any:
    """The (indirect) font of a widget's normal appearance stream, as pyHanko wrote it."""
    stream = widget["/AP"]["/N"]
    fonts = stream.get_object()["/Resources"]["/Font"]
    (font_ref,) = (fonts.raw_get(key) for key in fonts)
    return font_ref
