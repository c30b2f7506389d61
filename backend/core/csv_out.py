"""The one way a staff dashboard (ops, requests) hands its table to a spreadsheet: a CSV download with the same
numbers as the page.

UTF-8 with a byte-order mark (Excel then opens Chinese names correctly), RFC 4180 (``\\r\\n`` line ends,
fields quoted only when needed), a header row first. Every text cell goes through
``core.csv_text.spreadsheet_text``, the guard the pay exports use, so a name starting with ``=`` is never
run as a formula; numbers are written as numbers (``-1.5`` stays a number), dates and times in ISO 8601
(the caller passes local times already in the site's zone), enums by their code, ``None`` as an empty cell.
Amounts are the caller's business: pass major units (``core.money.decimal_text``) and a currency column.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from litestar import Response

from backend.core.csv_text import spreadsheet_text

BOM = "\ufeff"
MEDIA_TYPE = "text/csv"  # Litestar adds "; charset=utf-8" to text/ types


def cell(value: object) -> str:
    """One value as the text of a cell: numbers plain, dates ISO, anything else formula-safe text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(round(value, 6)) if value == value else ""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return spreadsheet_text(str(value.value))
    return spreadsheet_text(str(value))


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole file as text, BOM first; ``csv_response`` sends it, tests read it."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(name) for name in header])
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return out.getvalue()


def csv_response(filename: str, header: list[str], rows: Iterable[Sequence[object]]) -> Response[bytes]:
    """A CSV attachment named ``filename``; never cached (the numbers move during the day)."""
    return Response(
        content=csv_text(header, rows).encode(),
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{_safe_filename(filename)}"',
            "Cache-Control": "no-store",
        },
    )


def _safe_filename(filename: str) -> str:
    """Only characters that need no quoting in a header: a caller's slip cannot split or spoof it."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in filename) or "export.csv"
