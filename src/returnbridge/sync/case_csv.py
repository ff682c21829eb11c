"""The CSV export of the returns grid, fast: a million rows in seconds, in the memory of one batch.

Makes the very file ``exports.csv_chunks`` makes from ``CaseRow`` values (same header, cells, quoting and order;
``tests/integration/test_case_export.py`` compares the two on hostile text), but from plain tuples: the database
writes the times (``db.repositories.case_export``), amounts are formatted from their stored integer, account names
and type labels are looked up once per export, and text cells are neutralised against formula injection here,
because ``csv_text_chunks`` writes what it is given.

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
from returnbridge.db.money import micros_text
from returnbridge.db.repositories.case_export import export_selects, export_statements
from returnbridge.db.repositories.case_list import CaseList
from returnbridge.domain.case_view import COLUMNS_BY_KEY, CaseView, case_type_label
from returnbridge.domain.statuses import LabelSet
from returnbridge.exports.cells import neutralise
from returnbridge.exports.csv_stream import csv_text_chunks
from returnbridge.sync.runtime import Runtime

FETCH_ROWS = 10_000

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
    cells: list[CellText] = []
    for key in keys:
        cells.append(_cell(key, names, accounts))
        if key == "refund_amount":
            cells.append(_currency_cell(names))
    with _reading(source) as connection:
        for statement in statements:
            result = connection.execute(statement, execution_options={"yield_per": fetch})
            for rows in result.partitions():
                yield [[cell(row) for cell in cells] for row in rows]


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
        else:
            connection.execution_options(**{READ_SNAPSHOT: True})
        try:
            yield connection
        finally:
            connection.rollback()


def _cell(key: str, names: list[str], accounts: dict[int, str]) -> CellText:
    """How one export column's text is made from a row of ``export_selects``' values (positions in ``names``)."""
    at = names.index(key)
    if key == "account":
        return lambda row: accounts.get(row[at], "")
    if key == "type":
        kind_at = names.index("kind")
        labels: dict[tuple[str, str], str] = {}

        def type_text(row: Row) -> str:
            pair = (row[kind_at], row[at])
            label = labels.get(pair)
            if label is None:
                label = labels[pair] = neutralise(case_type_label(*pair))
            return label

        return type_text
    if key == "refund_amount":
        return lambda row: None if row[at] is None else micros_text(row[at])
    if key in ("created_at", "updated_at", "deadline", "store_return_id"):
        return lambda row: row[at]  # written by the database (times) or nothing yet; never text to neutralise
    return lambda row: neutralise(row[at])


def _currency_cell(names: list[str]) -> CellText:
    """The currency next to the amount, only when there is an amount (as ``export_columns`` has it)."""
    amount_at, currency_at = names.index("refund_amount"), names.index("currency")
    return lambda row: None if row[amount_at] is None else neutralise(row[currency_at])
