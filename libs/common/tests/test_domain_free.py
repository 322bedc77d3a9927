"""``common`` knows no particular office: no Cần Thơ name, code, host or default in its package.

The services hold those (their settings and seed) and pass them in; examples in docstrings use
neutral ones. Diacritics and case are ignored, so ``CẦN THƠ``, ``Can Tho`` and ``cantho`` all count.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]
"""libs/common: its sources and metadata (the tests may use any office's data)."""

BINARY_SUFFIXES = {".ttf", ".png", ".pyc"}

FORBIDDEN = re.compile(r"\bcan\W?tho\b|vpub|ubnd|\bh13\b")
"""The city (any spelling), the Office's notation (VPUB), the People's Committee's abbreviation
(UBND) and the city's organ-id code (``000.00.00.H13``)."""


def _folded(text: str) -> str:
    """``text`` lower-cased without diacritics (đ as d)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _package_files() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*")
        if path.is_file()
        and "tests" not in path.relative_to(PACKAGE).parts
        and "__pycache__" not in path.parts
        and not any(part.endswith(".egg-info") for part in path.parts)
    )


def test_the_pattern_catches_every_spelling() -> None:
    for text in ("Cần Thơ", "THÀNH PHỐ CẦN THƠ", "https://id.cantho.local", "can-tho-units", "123/VPUB-TTĐH"):
        assert FORBIDDEN.search(_folded(text)), text
    assert FORBIDDEN.search(_folded("Quyết định số 01/QĐ-UBND")) and FORBIDDEN.search("000.00.00.h13")
    assert not FORBIDDEN.search(_folded("Hà Nội, ngày 27 tháng 11 năm 2026; 01/VP-TTĐH; 000.00.00.X01"))


def test_common_names_no_particular_office() -> None:
    files = _package_files()
    assert any(path.name == "settings.py" for path in files) and len(files) > 50  # the scan found the package
    found: list[str] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            if path.suffix in BINARY_SUFFIXES:
                continue
            pytest.fail(f"{path}: neither UTF-8 text nor a known binary type; check it by hand and list it here")
        for number, line in enumerate(text.splitlines(), 1):
            if FORBIDDEN.search(_folded(line)):
                found.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert found == []
