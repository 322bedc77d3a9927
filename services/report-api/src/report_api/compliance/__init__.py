"""Printable exports of the Office's follow-up (the compliance workbook)."""
