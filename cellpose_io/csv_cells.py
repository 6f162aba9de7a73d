"""Text cells for CSV files that are safe to open in a spreadsheet.

Names in our CSVs come from files others made (image names, class names in label files).
Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or
``@`` (or a tab / carriage return before one) as a formula -- "CSV injection" (OWASP). Such
text is written with a leading apostrophe, which spreadsheets show as plain text. Numbers
are written as numbers and never touched.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would run as a formula."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
