"""XLSX export written with the standard library only, as a stream of bytes.

An .xlsx file is a zip of a few XML parts. The sheet is written row by row through a zip member opened for writing
on a sink that is drained after every chunk, so neither the rows nor the zip are ever held whole in memory (the zip
module writes data descriptors when its output cannot seek). Strings are inline (no shared-strings table to build
up front); no cell is ever a formula (no ``<f>``), and text is neutralised as in the CSV so it stays safe when saved
back to CSV.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from xml.sax.saxutils import escape

from returnbridge.exports.cells import Cell, decimal_text, neutralise

ROWS_PER_CHUNK = 500
MAX_CELL_TEXT = 32_767  # Excel's limit; a longer cell makes Excel "repair" (drop) the sheet
# Characters XML 1.0 cannot carry at all (a buyer's text may contain them): dropped, or the file would not open.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Day 0 of spreadsheet serial dates (1900 system, after Lotus' leap-year bug), in UTC.
_EPOCH_UTC = datetime(1899, 12, 30, tzinfo=UTC)
_DAY_MICROS = 86_400_000_000
_SERIAL_SCALE = 10**10  # serial numbers carry ten decimals
_DATE_STYLE = 1  # cellXfs index of the date-time format in styles.xml

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_OOXML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

_CONTENT_TYPES = (
    f'{_XML}<Types xmlns="{_PKG}/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_OOXML}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_OOXML}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_OOXML}.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
# Style 0 is the default; style 1 (``_DATE_STYLE``) shows a serial number as a date and time.
_STYLES = (
    f'{_XML}<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    "</styleSheet>"
)
_SHEET_START = f'{_XML}<worksheet xmlns="{_MAIN}"><sheetData>'
_SHEET_END = "</sheetData></worksheet>"


class _Sink:
    """A write-only file for ``zipfile`` that hands its bytes over at each drain (it has no ``tell``/``seek``)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def serial_date(moment: datetime) -> str:
    """A UTC time as a spreadsheet serial number (days since 1899-12-30), exact to the microsecond, as text: ten
    decimals at most, rounded half to even, without trailing zeros ("46402.5", "61", "-0.25").

    In integers: three Decimal operations per cell were a tenth of a large export's time."""
    # An aware time is subtracted as it is (exact, whatever its zone); a naive one is local time, as astimezone has it.
    delta = moment - _EPOCH_UTC if moment.tzinfo is not None else moment.astimezone(UTC) - _EPOCH_UTC
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    tenths, rest = divmod(abs(micros) * _SERIAL_SCALE, _DAY_MICROS)  # serial in units of 1e-10 day
    if rest * 2 > _DAY_MICROS or (rest * 2 == _DAY_MICROS and tenths % 2):
        tenths += 1
    whole, fraction = divmod(tenths, _SERIAL_SCALE)
    # The sign of the time, kept when the value rounds to zero (as Decimal's "-0").
    sign = "-" if micros < 0 else ""
    return f"{sign}{whole}.{fraction:010d}".rstrip("0") if fraction else f"{sign}{whole}"


def _inline_text(text: str) -> str:
    """A text cell's inner XML."""
    text = _NOT_XML.sub("", neutralise(text))[:MAX_CELL_TEXT]
    return f'<is><t xml:space="preserve">{escape(text)}</t></is>'


# The short texts a large export repeats on most rows (statuses, reasons, shop names, type labels, currencies) are
# neutralised, cleaned and escaped once; only short ones are kept, so a buyer's long texts cannot fill the memory.
_SHORT_TEXT = 64
_short_inline_text = lru_cache(maxsize=4096)(_inline_text)


def _text_cell(ref: str, text: str) -> str:
    inner = _short_inline_text(text) if len(text) <= _SHORT_TEXT else _inline_text(text)
    return f'<c r="{ref}" t="inlineStr">{inner}</c>'


def _cell(ref: str, cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return _text_cell(ref, "yes" if cell else "no")
    if isinstance(cell, Decimal | int):
        return f'<c r="{ref}" t="n"><v>{decimal_text(cell)}</v></c>'
    if isinstance(cell, datetime):
        return f'<c r="{ref}" s="{_DATE_STYLE}"><v>{serial_date(cell)}</v></c>'
    return _text_cell(ref, cell)


def _row(number: int, letters: Sequence[str], cells: Sequence[Cell]) -> str:
    inner = "".join(_cell(f"{letter}{number}", cell) for letter, cell in zip(letters, cells, strict=False))
    return f'<row r="{number}">{inner}</row>'


def xlsx_chunks(header: Sequence[str], rows: Iterable[Sequence[Cell]], sheet_name: str = "Export") -> Iterator[bytes]:
    """The workbook (one sheet: the header, then the rows) in chunks of about ``ROWS_PER_CHUNK`` rows."""
    sink = _Sink()
    letters = [column_letters(i) for i in range(len(header))]
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(name=escape(sheet_name[:31], {'"': "&quot;"})))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write((_SHEET_START + _row(1, letters, list(header))).encode())
            yield sink.drain()
            chunk: list[str] = []
            for number, row in enumerate(rows, start=2):
                chunk.append(_row(number, letters, row))
                if len(chunk) >= ROWS_PER_CHUNK:
                    sheet.write("".join(chunk).encode())
                    chunk.clear()
                    data = sink.drain()
                    if data:
                        yield data
            sheet.write(("".join(chunk) + _SHEET_END).encode())
    yield sink.drain()
