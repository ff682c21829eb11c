"""CSV export as a stream of UTF-8 bytes with a byte-order mark (without one, Excel reads UTF-8 as the local code
page)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

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


def _writer(buffer: io.StringIO) -> Any:
    return csv.writer(buffer, lineterminator="\r\n")


def csv_header(header: Sequence[str]) -> bytes:
    """The file's first bytes: the byte-order mark and the header row (neutralised like any text)."""
    buffer = io.StringIO()
    _writer(buffer).writerow([neutralise(h) for h in header])
    return BOM + buffer.getvalue().encode()


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[bytes]:
    """The file in chunks of ``ROWS_PER_CHUNK`` rows; the header is neutralised like any text."""
    yield csv_header(header)
    buffer = io.StringIO()
    writer = _writer(buffer)
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


def csv_text_chunks(header: Sequence[str], batches: Iterable[Sequence[Sequence[str | None]]]) -> Iterator[bytes]:
    """The same file as ``csv_chunks`` from rows whose cells are already export text (``None`` is empty): the
    caller has neutralised the text cells and written numbers and times, so a batch is one ``writerows`` call in C.
    One chunk per batch."""
    yield csv_header(header)
    buffer = io.StringIO()
    writer = _writer(buffer)
    for batch in batches:
        writer.writerows(batch)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
