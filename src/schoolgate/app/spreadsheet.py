"""CSV exports that are safe to open in a spreadsheet.

A cell that begins with `=`, `+`, `-`, `@` (or a tab or carriage return, or their full-width
forms, or any of these after leading spaces) is run as a formula by Excel, LibreOffice and Google
Sheets. Every cell of an export may hold words a pupil, parent or teacher typed, so each such cell
is written with a leading apostrophe, which spreadsheets show as text (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse

_FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet must show it: text that could start a formula gets a `'`."""
    if not isinstance(value, str):
        return value
    first = value.lstrip(" ")[:1]
    return "'" + value if first and first in _FORMULA_STARTS else value


def csv_download(
    filename: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]
) -> HttpResponse:
    """A CSV attachment whose every cell has passed through `safe_cell`."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([safe_cell(c) for c in columns])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return response
