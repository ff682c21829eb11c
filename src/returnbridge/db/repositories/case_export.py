"""The returns grid's rows as an export reads them: only the exported columns, as plain values, in the view's order.

The grid builds a ``CaseRow`` of typed values (``Decimal``, aware ``datetime``) per row, which is right for a page of
fifty and was most of the cost of an export of a million (5,500 rows/s). An export asks the database for what it
can give exactly and cheaply instead: UTC times already written as "YYYY-MM-DD HH:MM:SS" (the export's form,
seconds truncated like ``strftime``) and amounts as the stored integer of millionths.

The order is the grid's own (``CaseList.page``): rows with a value in the sort column first, in the view's
direction with the id as tie-break, then rows without one by id. Each of those two segments is one statement read
as a stream, so an index on (sort column, id) is walked once instead of being re-entered per keyset batch.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, String, func, literal, select, type_coerce

from returnbridge.db.models import Case
from returnbridge.db.repositories.case_list import SORT_COLUMNS, CaseList
from returnbridge.domain.case_view import CaseView

_TIMES = {
    "created_at": Case.tiktok_create_time,
    "updated_at": Case.tiktok_update_time,
    "deadline": Case.seller_deadline,
}


def time_text(column: Any, dialect: str) -> ColumnElement[str]:
    """A stored UTC time as "YYYY-MM-DD HH:MM:SS" written by the database (``exports.cells.utc_text``'s form)."""
    if dialect == "postgresql":
        # timestamptz AT TIME ZONE 'UTC' is the UTC wall time whatever the session's time zone is.
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI:SS", type_=String())
    # SQLite keeps naive UTC text; strftime reads every form SQLite knows and drops the fraction like Python's.
    return func.strftime("%Y-%m-%d %H:%M:%S", column, type_=String())


def export_selects(keys: list[str], dialect: str) -> dict[str, ColumnElement[Any]]:
    """The database values each export column is made from, by name; nothing a column does not need."""
    wanted: dict[str, ColumnElement[Any]] = {}
    for key in keys:
        if key == "store_return_id":
            # Nothing stored yet (store mirroring has not recorded the store's return on cases): an empty cell.
            wanted[key] = literal(None, type_=String())
        elif key == "return_id":
            wanted[key] = Case.tiktok_id
        elif key == "order_id":
            wanted[key] = Case.order_id
        elif key == "account":
            wanted[key] = Case.account_id
        elif key == "type":
            wanted["kind"] = Case.kind
            wanted[key] = Case.type
        elif key == "status":
            wanted[key] = Case.store_status
        elif key == "marketplace_status":
            wanted[key] = Case.tiktok_status
        elif key == "reason":
            wanted[key] = Case.reason_name
        elif key in _TIMES:
            wanted[key] = time_text(_TIMES[key], dialect)
        elif key == "refund_amount":
            # Millionths as an integer (``db.money``), bypassing the Decimal the ORM type would build per row.
            wanted[key] = type_coerce(Case.refund_total, BigInteger())
            wanted["currency"] = Case.currency
        else:
            raise KeyError(key)
    return {name: column.label(name) for name, column in wanted.items()}


def export_statements(cases: CaseList, view: CaseView, keys: list[str], dialect: str) -> list[Select[Any]]:
    """The view's rows (every filter and the tab, whatever its cursor) as one or two statements to read in turn."""
    columns = list(export_selects(keys, dialect).values())
    sort_column, nullable = SORT_COLUMNS[view.sort_column]
    ascending = view.sort_dir == "asc"
    where = [*cases.filters(view), *cases.tab_filter(view.tab)]
    by_id = Case.id.asc() if ascending else Case.id.desc()
    by_value = sort_column.asc() if ascending else sort_column.desc()
    if not nullable:
        return [select(*columns).where(*where).order_by(by_value, by_id)]
    return [
        select(*columns).where(*where, sort_column.is_not(None)).order_by(by_value, by_id),
        select(*columns).where(*where, sort_column.is_(None)).order_by(by_id),
    ]
