"""The returns grid's rows as an export reads them: only the exported columns, as plain values, in the view's order.

The grid builds a ``CaseRow`` of typed values (``Decimal``, aware ``datetime``) per row, which is right for a page of
fifty and was most of the cost of an export of a million (5,500 rows/s). An export asks the database for what it
can write exactly, in C, instead: UTC times as "YYYY-MM-DD HH:MM:SS" (the export's form, seconds truncated like
``strftime``), amounts from their stored integer of millionths, and text neutralised against formula injection by
the same test as ``exports.cells.neutralise`` (``tests/integration/test_case_export.py`` compares the files).

The order is the grid's own (``CaseList.page``): rows with a value in the sort column first, in the view's
direction with the id as tie-break, then rows without one by id. Each of those two segments is one statement read
as a stream, so an index on (sort column, id) is walked once instead of being re-entered per keyset batch.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Numeric,
    Select,
    String,
    case,
    cast,
    func,
    literal,
    null,
    select,
    type_coerce,
)

from returnbridge.db.models import Case
from returnbridge.db.repositories.case_list import SORT_COLUMNS, CaseList
from returnbridge.domain.case_view import CaseView
from returnbridge.exports.cells import formula_starts

_TEXTS = {
    "return_id": Case.tiktok_id,
    "order_id": Case.order_id,
    "status": Case.store_status,
    "marketplace_status": Case.tiktok_status,
    "reason": Case.reason_name,
}
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


def neutralised(column: Any) -> ColumnElement[str]:
    """``exports.cells.neutralise`` in SQL: text starting like a formula gets a leading quote."""
    return case((func.substr(column, 1, 1).in_(formula_starts()), literal("'", String()) + column), else_=column)


def amount_text(column: Any, dialect: str) -> ColumnElement[str]:
    """Stored millionths as ``format(amount, "f")`` of the Decimal the ORM would build ("12.5", "100", "-0.25")."""
    micros = type_coerce(column, BigInteger())
    if dialect == "postgresql":
        # Multiplying by 0.000001 is exact (scale 6, no rounding, unlike a division); trim_scale drops the zeros.
        return func.trim_scale(micros * literal(Decimal("0.000001"), Numeric()), type_=String())
    whole = func.abs(micros) // 1_000_000
    fraction = func.abs(micros) % 1_000_000
    sign = case((micros < 0, "-"), else_="")
    return case(
        (micros.is_(None), null()),
        ((micros % 1_000_000) == 0, cast(micros // 1_000_000, String())),
        else_=func.rtrim(func.printf("%s%d.%06d", sign, whole, fraction), "0"),
    )


def export_selects(keys: list[str], dialect: str) -> dict[str, ColumnElement[Any]]:
    """What each export column is made of, by name, in the order of ``keys``: cells the database writes whole
    (ids, statuses and reasons neutralised, times, amounts, the currency next to an amount), and for the account
    and the type the values a caller turns into a name or a label (a handful of distinct ones per export)."""
    wanted: dict[str, ColumnElement[Any]] = {}
    for key in keys:
        if key == "store_return_id":
            # Nothing stored yet (store mirroring has not recorded the store's return on cases): an empty cell.
            wanted[key] = literal(None, type_=String())
        elif key in _TEXTS:
            wanted[key] = neutralised(_TEXTS[key])
        elif key == "account":
            wanted[key] = Case.account_id
        elif key == "type":
            wanted[key] = Case.type
            wanted["kind"] = Case.kind
        elif key in _TIMES:
            wanted[key] = time_text(_TIMES[key], dialect)
        elif key == "refund_amount":
            wanted[key] = amount_text(Case.refund_total, dialect)
            # The currency only beside an amount, as ``sync.case_views.export_columns`` writes it.
            wanted["currency"] = case((Case.refund_total.is_(None), null()), else_=neutralised(Case.currency))
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
        # Ordered by the (NULL) sort column too, so it is read from the (column, id) index (``CaseList._segments``).
        select(*columns).where(*where, sort_column.is_(None)).order_by(by_value, by_id),
    ]
