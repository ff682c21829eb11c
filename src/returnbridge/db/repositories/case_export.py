"""The returns grid's rows as an export reads them: only the exported columns, as plain values, in the view's order.

The grid builds a ``CaseRow`` of typed values (``Decimal``, aware ``datetime``) per row, which is right for a page of
fifty and was most of the cost of an export of a million (5,500 rows/s). An export asks the database for what it
can write exactly, in C, instead: UTC times as "YYYY-MM-DD HH:MM:SS" (the export's form, seconds truncated like
``strftime``), amounts from their stored integer of millionths, account names and type labels, and text neutralised
against formula injection by the same test as ``exports.cells.neutralise`` (``tests/integration/test_case_export.py``
compares the files). Every cell is text (or NULL for an empty one), so a row is written as it arrives.

The order is the grid's own (``CaseList.page``): rows with a value in the sort column first, in the view's
direction with the id as tie-break, then rows without one by id. Each of those two segments is one statement read
as a stream, so an index on (sort column, id) is walked once instead of being re-entered per keyset batch.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
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

from returnbridge.db.models import Case, TikTokAccount
from returnbridge.db.repositories.case_list import SORT_COLUMNS, CaseList
from returnbridge.domain.case_view import CASE_TYPES, CaseView
from returnbridge.domain.statuses import CaseKind
from returnbridge.exports.cells import formula_starts, neutralise

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


@cache
def _whitespace() -> str:
    """What ``str.strip()`` removes: every character Python calls whitespace, so the label of " refund\u00a0" is
    found in SQL as ``domain.case_view.case_type`` finds it (computed on first use: a pass over all of Unicode)."""
    return "".join(chr(code) for code in range(0x110000) if chr(code).isspace())


def type_label(kind: Any, raw_type: Any, dialect: str) -> ColumnElement[str]:
    """``domain.case_view.case_type_label`` in SQL, neutralised: the label of a known type, else TikTok's own value.

    TikTok's exact spellings are compared first (nearly every row stops there); any other spelling is trimmed of
    whitespace and upper-cased before the comparison. The keys are ASCII letters and underscores, which
    ``str.lower()`` reaches from their ASCII capitals only (the Kelvin sign, the one other character lowering to an
    ASCII letter, lowers to "k", in no key), so an ASCII-only upper case is exact: SQLite's ``upper`` is, and on
    PostgreSQL the "C" collation makes it so whatever the database's locale (a Turkish one upper-cases "i" to "İ").
    """
    labels = {key: neutralise(label) for key, label in CASE_TYPES.items()}
    trimmed: Any = func.trim(raw_type, _whitespace())
    if dialect == "postgresql":
        trimmed = func.btrim(raw_type, _whitespace()).collate("C")
    folded = func.upper(trimmed, type_=String())
    return case(
        (kind == CaseKind.CANCELLATION.value, labels["cancellation"]),
        *((raw_type == key.upper(), label) for key, label in labels.items()),
        *((folded == key.upper(), label) for key, label in labels.items()),
        else_=neutralised(raw_type),
    )


def account_name(name: Any, shop_id: Any) -> ColumnElement[str]:
    """The grid's account name (the shop's name, else its id), neutralised; empty for an unknown account."""
    return neutralised(func.coalesce(func.nullif(name, ""), func.nullif(shop_id, ""), ""))


def amount_text(column: Any, dialect: str) -> ColumnElement[str]:
    """Stored millionths as ``format(amount, "f")`` of the Decimal the ORM would build ("12.5", "100", "-0.25")."""
    micros = type_coerce(column, BigInteger())
    if dialect == "postgresql":
        # Multiplying by 0.000001 is exact (scale 6, no rounding, unlike a division); trim_scale drops the zeros.
        # As text, the same digits: the export writes every cell as the database's text.
        return cast(func.trim_scale(micros * literal(Decimal("0.000001"), Numeric())), String())
    whole = func.abs(micros) // 1_000_000
    fraction = func.abs(micros) % 1_000_000
    sign = case((micros < 0, "-"), else_="")
    return case(
        (micros.is_(None), null()),
        ((micros % 1_000_000) == 0, cast(micros // 1_000_000, String())),
        else_=func.rtrim(func.printf("%s%d.%06d", sign, whole, fraction), "0"),
    )


def export_selects(keys: list[str], dialect: str, *, typed: bool = False) -> dict[str, ColumnElement[Any]]:
    """The export's cells as the database writes them, by name, in the file's order (the order of ``keys``, the
    currency right after the amount): ids, statuses and reasons neutralised, account names, type labels, times,
    amounts. The account's name is read from ``tiktok_accounts``, which the statement must join.

    ``typed`` reads times and amounts as the values the grid has (aware ``datetime``, ``Decimal``) instead of
    text: a spreadsheet stores them as numbers."""
    wanted: dict[str, ColumnElement[Any]] = {}
    for key in keys:
        if key == "store_return_id":
            # Nothing stored yet (store mirroring has not recorded the store's return on cases): an empty cell.
            wanted[key] = literal(None, type_=String())
        elif key in _TEXTS:
            wanted[key] = neutralised(_TEXTS[key])
        elif key == "account":
            wanted[key] = account_name(TikTokAccount.shop_name, TikTokAccount.shop_id)
        elif key == "type":
            wanted[key] = type_label(Case.kind, Case.type, dialect)
        elif key in _TIMES:
            wanted[key] = _TIMES[key] if typed else time_text(_TIMES[key], dialect)
        elif key == "refund_amount":
            wanted[key] = Case.refund_total if typed else amount_text(Case.refund_total, dialect)
            # The currency only beside an amount, as ``sync.case_views.export_columns`` writes it.
            wanted["currency"] = case((Case.refund_total.is_(None), null()), else_=neutralised(Case.currency))
        else:
            raise KeyError(key)
    return {name: column.label(name) for name, column in wanted.items()}


def export_statements(
    cases: CaseList, view: CaseView, keys: list[str], dialect: str, *, empty_as_null: bool = False,
    typed: bool = False,
) -> list[Select[Any]]:
    """The view's rows (every filter and the tab, whatever its cursor) as one or two statements to read in turn;
    ``typed`` as in ``export_selects``.

    ``empty_as_null`` writes an empty cell as NULL: PostgreSQL's CSV output quotes an empty string (to tell it from
    NULL) where Python's csv module writes nothing, and writes NULL as nothing.
    """
    selects = export_selects(keys, dialect, typed=typed)
    columns = [func.nullif(c, "").label(name) if empty_as_null else c for name, c in selects.items()]
    sort_column, nullable = SORT_COLUMNS[view.sort_column]
    ascending = view.sort_dir == "asc"
    where = [*cases.filters(view), *cases.tab_filter(view.tab)]
    by_id = Case.id.asc() if ascending else Case.id.desc()
    by_value = sort_column.asc() if ascending else sort_column.desc()
    rows = select(*columns).select_from(Case)
    if "account" in keys:
        rows = rows.outerjoin(TikTokAccount, TikTokAccount.id == Case.account_id)
    if not nullable:
        return [rows.where(*where).order_by(by_value, by_id)]
    return [
        rows.where(*where, sort_column.is_not(None)).order_by(by_value, by_id),
        # Ordered by the (NULL) sort column too, so it is read from the (column, id) index (``CaseList._segments``).
        rows.where(*where, sort_column.is_(None)).order_by(by_value, by_id),
    ]
