"""The returns grid as the web layer and the JSON API serve it: ``list_cases`` (GET /api/v1/cases) and
``export_cases`` (the same view as CSV or XLSX, streamed).

Both take the page's query parameters as they come (a mapping or key/value pairs) and raise
``domain.case_view.ViewParameterError`` (HTTP 400, with the parameter's name) for a bad one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from returnbridge.db.repositories.case_list import CaseList, CaseRow
from returnbridge.domain.case_view import COLUMNS_BY_KEY, GRID_COLUMNS, CaseView, Cursor, ViewParameterError
from returnbridge.domain.statuses import LabelSet
from returnbridge.exports import Cell
from returnbridge.sync.case_csv import FETCH_ROWS, csv_export_chunks
from returnbridge.sync.case_xlsx import xlsx_export_chunks
from returnbridge.sync.runtime import Runtime

Params = Mapping[str, Any] | Iterable[tuple[str, str]]
EXPORT_BATCH = 1000


def _session(source: Runtime | Session) -> AbstractContextManager[Session]:
    if isinstance(source, Session):
        return nullcontext(source)
    return source.sessions()


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


def case_json(row: CaseRow, now: datetime) -> dict[str, Any]:
    """One grid row as JSON: money as a decimal string with its currency, times ISO 8601 UTC, ids strings."""
    seconds_left = None
    if row.deadline is not None and row.needs_action:
        # The countdown of the needs-action queue; negative once TikTok's deadline has passed.
        seconds_left = int((row.deadline - now).total_seconds())
    return {
        "id": row.id,
        "kind": row.kind,
        "store_return_id": row.store_return_id,
        "return_id": row.return_id,
        "order_id": row.order_id,
        "account": {"id": row.account_id, "name": row.account_name},
        "type": row.type,
        "type_label": row.type_label,
        "status": row.status,
        "marketplace_status": row.marketplace_status,
        "tab": row.tab,
        "reason": row.reason,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "refund_amount": (
            {"amount": format(row.refund_amount, "f"), "currency": row.currency}
            if row.refund_amount is not None else None
        ),
        "deadline": _iso(row.deadline),
        "seconds_left": seconds_left,
        "needs_action": row.needs_action,
        "decided_by_tiktok": row.decided_by_tiktok,
        "arbitration_status": row.arbitration_status,
        "details": f"/cases/{row.id}",
    }


def list_cases(
    source: Runtime | Session, params: Params, *, label_set: LabelSet = LabelSet.CURRENT, now: datetime | None = None,
) -> dict[str, Any]:
    """The JSON of /api/v1/cases: a page of rows, the tab counts, the cursors, the view and the account selector.

    Three statements: the page, the counts (under every filter but the tab), the accounts.
    """
    view = CaseView.from_query(params)
    now = now or datetime.now(UTC)
    with _session(source) as session:
        cases = CaseList(session, label_set)
        page = cases.page(view)
        counts = cases.tab_counts(view)
        accounts = cases.accounts_overview(now)
    visible = set(view.visible_columns)
    return {
        "rows": [case_json(row, now) for row in page.rows],
        "tabs": [
            {"key": c.key, "label": c.label, "count": c.count, "active": c.key == view.tab} for c in counts
        ],
        "cursors": {"next": page.next_cursor, "prev": page.prev_cursor},
        "sort": {"column": view.sort_column, "dir": view.sort_dir},
        "filters": view.applied_filters(),
        "columns": [
            {"key": c.key, "label": c.label, "sortable": c.sortable, "visible": c.key in visible}
            for c in GRID_COLUMNS
        ],
        "query": view.to_query(),
        "accounts": {
            "any_usable": accounts.any_usable,
            "message": accounts.message,
            "reasons": accounts.reasons,
            "items": [
                {"id": a.id, "name": a.name, "shop_id": a.shop_id, "region": a.region, "status": a.status,
                 "usable": a.usable, "reason": a.reason, "selected": a.id in view.account}
                for a in accounts.accounts
            ],
        },
    }


# --- export --------------------------------------------------------------------------------------------------

_CELLS: dict[str, Callable[[CaseRow], Cell]] = {
    "store_return_id": lambda r: r.store_return_id,
    "return_id": lambda r: r.return_id,
    "order_id": lambda r: r.order_id,
    "account": lambda r: r.account_name,
    "type": lambda r: r.type_label,
    "status": lambda r: r.status,
    "marketplace_status": lambda r: r.marketplace_status,
    "reason": lambda r: r.reason,
    "created_at": lambda r: r.created_at,
    "updated_at": lambda r: r.updated_at,
    "refund_amount": lambda r: r.refund_amount,
    "deadline": lambda r: r.deadline,
}
_TIMES = frozenset({"created_at", "updated_at", "deadline"})


def export_columns(view: CaseView) -> tuple[list[str], list[Callable[[CaseRow], Cell]]]:
    """Header and cell readers of the view's visible columns; the amount is followed by its currency."""
    header: list[str] = []
    readers: list[Callable[[CaseRow], Cell]] = []
    for key in view.visible_columns:
        column = COLUMNS_BY_KEY[key]
        if not column.exportable:
            continue
        header.append(f"{column.label} (UTC)" if key in _TIMES else column.label)
        readers.append(_CELLS[key])
        if key == "refund_amount":
            header.append("Currency")
            readers.append(lambda r: r.currency if r.refund_amount is not None else None)
    return header, readers


@dataclass(frozen=True)
class CaseExport:
    media_type: str
    filename: str
    chunks: Iterator[bytes]


# Media type, the chunks of the file, and the rows read at a time (an XLSX row costs more memory than a CSV one).
_FORMATS = {
    "csv": ("text/csv; charset=utf-8", csv_export_chunks, FETCH_ROWS),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx_export_chunks, EXPORT_BATCH),
}


def export_rows(source: Runtime | Session, view: CaseView, label_set: LabelSet, batch: int) -> Iterator[CaseRow]:
    """Every row of the view (whatever its page cursor) in keyset batches, as the grid shows them: the rows both
    exports' files are checked against (``export_columns`` reads their cells), the files being read otherwise.

    With a runtime, each batch is read in its own short transaction: an export of 100,000 rows must not hold
    SQLite's write lock (every transaction there begins IMMEDIATE) while the merchant's download trickles out.
    """
    if isinstance(source, Session):
        yield from CaseList(source, label_set).iter_rows(view, batch)
        return
    current = view.first_page()
    while True:
        with source.sessions() as session:
            page = CaseList(session, label_set).page(current, batch)
            session.rollback()
        yield from page.rows
        if page.next_cursor is None:
            return
        current = current.with_cursor(Cursor.decode(page.next_cursor))


def export_cases(
    source: Runtime | Session, params: Params, fmt: str, *, label_set: LabelSet = LabelSet.CURRENT,
    batch: int | None = None, now: datetime | None = None,
) -> CaseExport:
    """The view's rows (all pages, the tab and every filter applied) as a streamed CSV or XLSX file.

    The parameters are checked before the first byte is produced, so a bad one is still an HTTP 400.
    """
    if fmt not in _FORMATS:
        raise ViewParameterError("format", "csv or xlsx")
    view = CaseView.from_query(params)
    media_type, chunks, rows_at_a_time = _FORMATS[fmt]
    header, _readers = export_columns(view)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return CaseExport(
        media_type, f"returns-{stamp}.{fmt}", chunks(source, view, header, label_set, batch or rows_at_a_time),
    )
