"""The CSV export of the returns grid, fast: a million rows in seconds, in the memory of one batch.

Makes the very file ``exports.csv_chunks`` makes from ``CaseRow`` values (same header, cells, quoting and order;
``tests/integration/test_case_export.py`` compares the two on hostile text), but from plain tuples: the database
writes nearly every cell (``db.repositories.case_export``: neutralised text, times, amounts), account names and
type labels are looked up once per distinct value, and the csv module writes each batch in one call.

Reading: with a session, on that session's transaction. With a runtime, on a connection of its own in one read
snapshot: a deferred transaction on SQLite (in WAL mode a reader neither takes nor waits for the write lock, so
a 20-second download never holds up the sync), REPEATABLE READ on PostgreSQL, whose rows arrive through a
server-side cursor ``FETCH_ROWS`` at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from returnbridge.db.engine import READ_SNAPSHOT
from returnbridge.db.models import TikTokAccount
from returnbridge.db.repositories.case_export import export_selects, export_statements
from returnbridge.db.repositories.case_list import CaseList
from returnbridge.domain.case_view import COLUMNS_BY_KEY, CaseView, case_type_label
from returnbridge.domain.statuses import LabelSet
from returnbridge.exports.cells import neutralise
from returnbridge.exports.csv_stream import csv_text_chunks
from returnbridge.sync.runtime import Runtime

FETCH_ROWS = 10_000
EXPORT_CACHE_KIB = -4096  # SQLite's cache_size in KiB when negative

Row = Sequence[Any]
CellText = Callable[[Row], str | None]


def exported_keys(view: CaseView) -> list[str]:
    """The view's visible columns that have a place in a spreadsheet, in the view's order."""
    return [key for key in view.visible_columns if COLUMNS_BY_KEY[key].exportable]


def csv_export_chunks(
    source: Runtime | Session, view: CaseView, header: list[str], label_set: LabelSet, fetch: int = FETCH_ROWS,
) -> Iterator[bytes]:
    """The view's rows as CSV bytes (``header`` first, as ``sync.case_views.export_columns`` names the columns)."""
    return csv_text_chunks(header, _text_batches(source, view, label_set, fetch))


def _text_batches(source: Runtime | Session, view: CaseView, label_set: LabelSet, fetch: int) -> Iterator[list[Any]]:
    keys = exported_keys(view)
    if isinstance(source, Session):
        session_scope: AbstractContextManager[Session] = nullcontext(source)
    else:
        session_scope = source.sessions()
    with session_scope as session:
        # Filters are decided here (an exact id search is looked up once), then the rows are read below.
        dialect = session.get_bind().dialect.name
        statements = export_statements(CaseList(session, label_set), view, keys, dialect)
        accounts = {
            account_id: neutralise(name or shop_id or "")
            for account_id, name, shop_id in session.execute(
                select(TikTokAccount.id, TikTokAccount.shop_name, TikTokAccount.shop_id)
            )
        }
        if not isinstance(source, Session):
            session.rollback()  # read only; on SQLite do not keep the write lock the session began with
    names = list(export_selects(keys, dialect))
    # One output column per export column, the currency after the amount; all but two are the database's text.
    order = [name for key in keys for name in ((key, "currency") if key == "refund_amount" else (key,))]
    at = {name: names.index(name) for name in names}
    account_names = _Lookup(lambda account_id: "")
    account_names.update(accounts)
    type_labels = _Lookup(lambda pair: neutralise(case_type_label(*pair)))
    with _reading(source) as connection:
        for statement in statements:
            result = connection.execute(statement, execution_options={"yield_per": fetch})
            for rows in result.partitions():
                # Column by column, with C loops (zip, map): a million rows must not cost a Python call per cell.
                columns = list(zip(*rows, strict=True))
                out: list[Any] = []
                for name in order:
                    if name == "account":
                        out.append(map(account_names.__getitem__, columns[at[name]]))
                    elif name == "type":
                        pairs = zip(columns[at["kind"]], columns[at[name]], strict=True)
                        out.append(map(type_labels.__getitem__, pairs))
                    else:
                        out.append(columns[at[name]])
                yield list(zip(*out, strict=True))


class _Lookup(dict[Any, str]):
    """A dict that computes (and keeps) a missing value: account names and type labels, a few per export."""

    def __init__(self, compute: Callable[[Any], str]) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, key: Any) -> str:
        value = self[key] = self._compute(key)
        return value


@contextmanager
def _reading(source: Runtime | Session) -> Iterator[Connection]:
    if isinstance(source, Session):
        yield source.connection()
        return
    with source.sessions() as session:
        engine = session.get_bind()
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
