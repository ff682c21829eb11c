"""The CSV export of the returns grid, fast: a million rows in seconds, in the memory of one batch.

Makes the very file ``exports.csv_chunks`` makes from ``CaseRow`` values (same header, cells, quoting and order;
``tests/integration/test_case_export.py`` compares the two on hostile text), but the database writes every cell
(``db.repositories.case_export``: neutralised text, account names, type labels, times, amounts), so no Python code
runs per cell:

- PostgreSQL writes the CSV itself (``COPY (SELECT ...) TO STDOUT``): its quoting is the csv module's once empty
  cells are NULL, and its rows end in LF where ours end in CRLF, which ``crlf_rows`` puts right. The client then
  does next to nothing per row, and the rows are not parsed into Python values at all.
- SQLite's rows (plain tuples of text from the driver's cursor) go to ``csv.writer.writerows`` a batch at a time.

Reading: with a session, on that session's transaction. With a runtime, on a connection of its own in one read
snapshot: a deferred transaction on SQLite (in WAL mode a reader neither takes nor waits for the write lock, so
a 20-second download never holds up the sync), REPEATABLE READ on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, Select, event
from sqlalchemy.orm import Session

from returnbridge.db.engine import READ_SNAPSHOT
from returnbridge.db.repositories.case_export import export_statements
from returnbridge.db.repositories.case_list import CaseList
from returnbridge.domain.case_view import COLUMNS_BY_KEY, CaseView
from returnbridge.domain.statuses import LabelSet
from returnbridge.exports.csv_stream import csv_header, csv_text_chunks
from returnbridge.sync.runtime import Runtime

FETCH_ROWS = 10_000
COPY_CHUNK_BYTES = 1 << 20  # what PostgreSQL's rows are gathered into before one chunk is yielded
EXPORT_CACHE_KIB = -4096  # SQLite's cache_size in KiB when negative

# Execution option under which a statement is not run but handed back, as SQLAlchemy would send it (SQL text and
# bound parameters, each through its column type), to be run inside COPY.
_CAPTURE = "returnbridge_capture_statement"


def session_of(source: Runtime | Session) -> AbstractContextManager[Session]:
    """The caller's session as it is, or a new one of the runtime's (closed after)."""
    return nullcontext(source) if isinstance(source, Session) else source.sessions()


def exported_keys(view: CaseView) -> list[str]:
    """The view's visible columns that have a place in a spreadsheet, in the view's order."""
    return [key for key in view.visible_columns if COLUMNS_BY_KEY[key].exportable]


def csv_export_chunks(
    source: Runtime | Session, view: CaseView, header: list[str], label_set: LabelSet, fetch: int = FETCH_ROWS,
) -> Iterator[bytes]:
    """The view's rows as CSV bytes (``header`` first, as ``sync.case_views.export_columns`` names the columns)."""
    keys = exported_keys(view)
    with session_of(source) as session:
        dialect = session.get_bind().dialect.name
        # PostgreSQL writes a lone cell of "\." quoted (its end-of-data marker) and an empty lone cell as nothing
        # where the csv module writes '""': a file of one column is read row by row like SQLite's.
        copy = dialect == "postgresql" and len(header) > 1
        # Filters are decided here (an exact id search is looked up once), then the rows are read below.
        statements = export_statements(CaseList(session, label_set), view, keys, dialect, empty_as_null=copy)
        if not isinstance(source, Session):
            session.rollback()  # read only; on SQLite do not keep the write lock the session began with
    if copy:
        yield csv_header(header)
        with reading(source) as connection:
            for statement in statements:
                yield from _copied_csv(connection, statement)
        return
    yield from csv_text_chunks(header, _row_batches(source, statements, fetch))


def _row_batches(source: Runtime | Session, statements: list[Select[Any]], fetch: int) -> Iterator[list[Any]]:
    with reading(source) as connection:
        for statement in statements:
            if connection.dialect.name == "sqlite":
                # Every cell is already text: the driver's tuples go to the csv writer as they are (SQLAlchemy's
                # rows cost a second per million and have nothing to convert). Not ``yield_per``, whose buffer
                # would hold the first row back from the driver's cursor.
                result = connection.execute(statement)
                cursor = result.cursor
                while rows := cursor.fetchmany(fetch):
                    yield rows
                result.close()
                continue
            yield from connection.execute(statement, execution_options={"yield_per": fetch}).partitions()


def _copied_csv(connection: Connection, statement: Select[Any]) -> Iterator[bytes]:
    sql, parameters = _as_sent(connection, statement)
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(
        f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, ENCODING 'UTF8')", parameters,
    ) as copy:
        pending: list[Any] = []
        size = 0
        for row in copy:  # one message per row
            pending.append(row)
            size += len(row)
            if size >= COPY_CHUNK_BYTES:
                yield crlf_rows(b"".join(pending))
                pending, size = [], 0
        if pending:
            yield crlf_rows(b"".join(pending))


def crlf_rows(rows: bytes) -> bytes:
    """Whole CSV rows ending in LF, as rows ending in CRLF; a line break inside a quoted cell stays as it is.

    Quotes in a row are balanced (a quote inside a cell is doubled), so the text between two quotes alternates
    outside and inside a cell from the first piece on, and only the outside pieces hold row ends."""
    if b'"' not in rows:
        return rows.replace(b"\n", b"\r\n")
    pieces = rows.split(b'"')
    pieces[::2] = [piece.replace(b"\n", b"\r\n") for piece in pieces[::2]]
    return b'"'.join(pieces)


def _as_sent(connection: Connection, statement: Select[Any]) -> tuple[str, Any]:
    """The SQL and parameters SQLAlchemy would send for ``statement`` (expanded IN lists, values through their
    column types, e.g. a Decimal bound to an amount column as its integer of millionths), without running it."""
    engine = connection.engine
    if not event.contains(engine, "do_execute", _capture):
        event.listen(engine, "do_execute", _capture)
    sent: list[tuple[str, Any]] = []
    connection.execute(statement, execution_options={_CAPTURE: sent}).close()
    return sent[0]


def _capture(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    sent = context.execution_options.get(_CAPTURE)
    if sent is None:
        return False
    sent.append((statement, parameters))
    return True  # handled: the driver's cursor is left unexecuted


@contextmanager
def reading(source: Runtime | Session) -> Iterator[Connection]:
    """The connection an export reads on: the session's own, or a runtime's in one read snapshot (see above)."""
    if isinstance(source, Session):
        yield source.connection()
        return
    with source.sessions() as session:
        engine = session.get_bind()
    assert isinstance(engine, Engine)
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Both segments of the order (rows with a sort value, then those without) from the same snapshot.
            connection.execution_options(isolation_level="REPEATABLE READ")
            try:
                yield connection
            finally:
                connection.rollback()
            return
        connection.execution_options(**{READ_SNAPSHOT: True})
        # The connection's 64 MB page cache (db.engine) buys nothing on one pass over the table and would be most
        # of the export's memory: a small one while exporting, the pool's own setting restored after.
        kept = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
        connection.exec_driver_sql(f"PRAGMA cache_size={EXPORT_CACHE_KIB}")
        try:
            yield connection
        finally:
            connection.rollback()
            connection.exec_driver_sql(f"PRAGMA cache_size={int(kept)}")
