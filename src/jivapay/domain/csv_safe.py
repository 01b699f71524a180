"""CSV cells that a spreadsheet would run as a formula, neutralised (OWASP "CSV injection").

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
single quote, so Excel, LibreOffice and Google Sheets show it as text. A plain decimal number
("-12.50") is left alone: negative amounts must stay numbers in the export.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")  # ASCII digits only; fullmatch, so no trailing "\n"


def safe_cell(value: object) -> object:
    """The value to write: text that could start a formula is prefixed with ``'``; anything
    else (numbers, None, ordinary text) is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(values: Iterable[object]) -> list[object]:
    return [safe_cell(value) for value in values]
