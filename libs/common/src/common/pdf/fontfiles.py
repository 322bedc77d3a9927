"""Where the committed Liberation Serif faces are (no font library imported: see :mod:`common.pdf.fonts`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

__all__ = ["FONT_DIR", "FontStyle", "font_path"]

FONT_DIR = Path(__file__).resolve().parent / "fonts"
"""Directory holding the committed Liberation Serif TTF files and their licence."""

FontStyle = Literal["Regular", "Bold", "Italic", "BoldItalic"]


def font_path(style: FontStyle) -> Path:
    """Return the path of one committed Liberation Serif face.

    Args:
        style: ``"Regular"``, ``"Bold"``, ``"Italic"`` or ``"BoldItalic"``.

    Returns:
        The TTF file path.
    """
    return FONT_DIR / f"LiberationSerif-{style}.ttf"
