"""CSV export as a stream of UTF-8 bytes with a byte-order mark (without one, Excel reads UTF-8 as the local code
page)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal

from returnbridge.exports.cells import Cell, decimal_text, neutralise, utc_text

BOM = "\ufeff".encode()
ROWS_PER_CHUNK = 500


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, Decimal | int):
        return decimal_text(cell)
    if isinstance(cell, datetime):
        return utc_text(cell)
    return neutralise(cell)


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[bytes]:
    """The file in chunks of ``ROWS_PER_CHUNK`` rows; the header is neutralised like any text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    yield BOM + buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    pending = 0
    for row in rows:
        writer.writerow([_text(cell) for cell in row])
        pending += 1
        if pending >= ROWS_PER_CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue().encode()
