"""The XLSX export of the returns grid from one streamed statement instead of the grid's pages.

The workbook is the one ``exports.xlsx_chunks`` writes from ``CaseRow`` values (``tests/integration/
test_case_export.py`` compares the sheets): the same cells, of the same types, as the row-by-row path read them.
What changes is how they are read: the view's rows are one or two statements read as a stream
(``db.repositories.case_export``, times and amounts typed, account names and type labels written by the database),
where the grid's pages re-entered the sort index every thousand rows and built a ``CaseRow`` per case.

Read on the CSV export's connection (``sync.case_csv.reading``): one snapshot that never holds SQLite's write lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Row, Select
from sqlalchemy.orm import Session

from returnbridge.db.repositories.case_export import export_statements
from returnbridge.db.repositories.case_list import CaseList
from returnbridge.domain.case_view import CaseView
from returnbridge.domain.statuses import LabelSet
from returnbridge.exports import xlsx_chunks
from returnbridge.sync.case_csv import FETCH_ROWS, exported_keys, reading, session_of
from returnbridge.sync.runtime import Runtime


def xlsx_export_chunks(
    source: Runtime | Session, view: CaseView, header: list[str], label_set: LabelSet, fetch: int = FETCH_ROWS,
) -> Iterator[bytes]:
    """The view's rows as an XLSX workbook (``header`` first, as ``sync.case_views.export_columns`` names them)."""
    keys = exported_keys(view)
    with session_of(source) as session:
        dialect = session.get_bind().dialect.name
        statements = export_statements(CaseList(session, label_set), view, keys, dialect, typed=True)
        if not isinstance(source, Session):
            session.rollback()  # read only; on SQLite do not keep the write lock the session began with
    yield from xlsx_chunks(header, _rows(source, statements, fetch))


def _rows(source: Runtime | Session, statements: list[Select[Any]], fetch: int) -> Iterator[Row[Any]]:
    with reading(source) as connection:
        for statement in statements:
            for rows in connection.execute(statement, execution_options={"yield_per": fetch}).partitions():
                yield from rows
