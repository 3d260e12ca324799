"""Text bound for a spreadsheet (CSV exports, XLSX reports) stays text.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel and
WPS as a formula (CSV injection: a title like ``=HYPERLINK(...)`` would run when an auditor opens the
export). Such text gets a leading apostrophe, which spreadsheet programs show as nothing and read as
"this is text" (OWASP's advice). Numbers are not text and pass unchanged.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text_cell(value: Any) -> Any:
    """``value`` as a spreadsheet should take it: text that could start a formula is quoted; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
