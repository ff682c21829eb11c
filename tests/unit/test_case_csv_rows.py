"""PostgreSQL's CSV rows (LF-terminated) turned into the export's (CRLF-terminated), cells left as they are."""

from __future__ import annotations

import csv
import io

from returnbridge.sync.case_csv import crlf_rows


def python_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


def test_rows_without_quotes_end_in_crlf() -> None:
    assert crlf_rows(b"a,b\nc,\n") == b"a,b\r\nc,\r\n"


def test_line_breaks_inside_quoted_cells_stay_as_they_are() -> None:
    rows = [["He said \"no\",\nthen left", "x"], ["Line\r\nbreak", '""'], ["plain", "\n"]]
    written_by_postgresql = b'"He said ""no"",\nthen left",x\n"Line\r\nbreak",""""""\nplain,"\n"\n'
    assert crlf_rows(written_by_postgresql) == python_csv(rows)
