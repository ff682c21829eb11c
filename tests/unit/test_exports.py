"""Spreadsheet writers: formula injection neutralised, exact numbers, files that open, streamed."""

from __future__ import annotations

import csv
import io
import tracemalloc
import zipfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree

import pytest

from returnbridge.exports import Cell, csv_chunks, neutralise, xlsx_chunks
from returnbridge.exports.xlsx_stream import column_letters, serial_date

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode())))


def read_xlsx(data: bytes) -> list[list[tuple[str | None, str]]]:
    """Each row as (cell type, text) pairs, read back with the standard library."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        assert {"[Content_Types].xml", "xl/workbook.xml", "xl/styles.xml", "xl/worksheets/sheet1.xml"} <= names
        sheet = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    assert sheet.find(".//m:f", NS) is None  # never a formula
    rows = []
    for row in sheet.iterfind(".//m:row", NS):
        cells = []
        for cell in row.iterfind("m:c", NS):
            kind = cell.get("t")
            text = cell.findtext("m:is/m:t", namespaces=NS) if kind == "inlineStr" else cell.findtext("m:v", "", NS)
            cells.append((kind, text or ""))
        rows.append(cells)
    return rows


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://evil\",\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_text_that_a_spreadsheet_would_run_gets_a_leading_quote(text: str) -> None:
    assert neutralise(text) == "'" + text


def test_plain_text_is_left_alone() -> None:
    assert neutralise("Wrong size (=M)") == "Wrong size (=M)"


def test_csv_neutralises_a_buyer_formula_and_writes_numbers_as_plain_decimals() -> None:
    rows: list[Sequence[Cell]] = [["=HYPERLINK(\"http://x\")", Decimal("1E+3"), Decimal("-3.25"), None,
                                   datetime(2027, 1, 15, 8, 0, tzinfo=UTC)]]
    parsed = read_csv(b"".join(csv_chunks(["Reason", "Amount", "Fee", "Deadline", "Created"], rows)))
    assert parsed == [["Reason", "Amount", "Fee", "Deadline", "Created"],
                      ["'=HYPERLINK(\"http://x\")", "1000", "-3.25", "", "2027-01-15 08:00:00"]]


def test_csv_keeps_commas_quotes_and_newlines_in_one_cell() -> None:
    parsed = read_csv(b"".join(csv_chunks(["Reason"], [['He said "no",\nthen left']])))
    assert parsed[1] == ['He said "no",\nthen left']


def test_xlsx_opens_with_typed_cells_and_no_formula() -> None:
    rows: list[Sequence[Cell]] = [["=cmd|' /C calc'!A0", Decimal("12.50"), datetime(2027, 1, 15, 12, 0, tzinfo=UTC),
                                   None, "bad\x00\x1bchars <&>"]]
    parsed = read_xlsx(b"".join(xlsx_chunks(["Reason", "Amount", "Created", "Empty", "Note"], rows)))
    assert parsed[0] == [("inlineStr", "Reason"), ("inlineStr", "Amount"), ("inlineStr", "Created"),
                         ("inlineStr", "Empty"), ("inlineStr", "Note")]
    reason, amount, created, note = parsed[1]
    assert reason == ("inlineStr", "'=cmd|' /C calc'!A0")
    assert amount == ("n", "12.50")
    assert created == (None, serial_date(datetime(2027, 1, 15, 12, 0, tzinfo=UTC)))
    assert note == ("inlineStr", "badchars <&>")


def test_serial_dates_count_days_from_1899_12_30() -> None:
    assert serial_date(datetime(1900, 3, 1, tzinfo=UTC)) == "61"
    assert serial_date(datetime(2027, 1, 15, 12, 0, tzinfo=UTC)) == "46402.5"


def decimal_serial_date(moment: datetime) -> str:
    """The serial number as first written, in Decimal arithmetic: what the integer one must equal."""
    delta = moment.astimezone(UTC).replace(tzinfo=None) - datetime(1899, 12, 30)
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return format((Decimal(micros) / Decimal(86_400_000_000)).quantize(Decimal("0.0000000001")).normalize(), "f")


def test_serial_dates_round_to_ten_decimals_half_to_even_like_decimal() -> None:
    epoch = datetime(1899, 12, 30, tzinfo=UTC)
    # 108 microseconds is exactly half of the eleventh decimal (ties every 216), then both sides of day 0, and a
    # spread of ordinary times with and without a fraction of a second.
    offsets = [108 + 216 * k for k in range(40)] + [-108, -324, -1, 0, 1, 43_200_000_000, -21_600_000_000]
    offsets += [n * 7_777_777_777_777 + n * 13 for n in range(-30, 300)]
    for micros in offsets:
        moment = epoch + timedelta(microseconds=micros)
        assert serial_date(moment) == decimal_serial_date(moment), micros


def test_column_letters_go_past_z() -> None:
    assert [column_letters(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


def _many_rows(count: int) -> Iterator[Sequence[Cell]]:
    for i in range(count):
        yield [f"RET{i:09d}", "Organic Cotton Tee, size M" * 3, Decimal(i) / 100, datetime(2027, 1, 1, tzinfo=UTC)]


@pytest.mark.parametrize("writer", [csv_chunks, xlsx_chunks])
def test_writers_stream_without_holding_the_rows(writer) -> None:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    try:
        total = 0
        chunks = 0
        for chunk in writer(["Id", "Product", "Amount", "Created"], _many_rows(20_000)):
            total += len(chunk)
            chunks += 1
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert chunks > 10  # bytes leave while rows are still being read
    # 20,000 rows are megabytes of text; a streaming writer holds one chunk of 500 rows at a time.
    assert peak < 2_000_000
    assert total > 0
