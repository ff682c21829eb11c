"""``/returns``: the "Returns & refunds" grid, and its CSV / XLSX export (any signed-in role).

The whole state of the page lives in its URL (``domain.case_view.CaseView``): every link on the page (tabs, sort
headers, next/previous, the export menu) is that URL with one thing changed, and the filters are a GET form, so a
view can be bookmarked and shared. A bad parameter answers 400 naming it, never 500.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from returnbridge.db.repositories.case_list import AccountsOverview, CaseList, CaseRow, Page, TabCount
from returnbridge.domain.case_view import (
    ALL_TAB,
    CASE_TYPES,
    COLUMNS_BY_KEY,
    GRID_COLUMNS,
    NEEDS_ACTION_TAB,
    CaseView,
    GridColumn,
    ViewParameterError,
)
from returnbridge.domain.roles import Role
from returnbridge.domain.statuses import StoreStatus
from returnbridge.sync.case_views import export_cases
from returnbridge.sync.runtime import Runtime
from returnbridge.web.auth import SignedInUser, current_user
from returnbridge.web.label_set import current_label_set
from returnbridge.web.money import money_text
from returnbridge.web.pages import render
from returnbridge.web.route_table import route_table
from returnbridge.web.time_left import time_left

GRID_PATH = "/returns"
SYNC_PATH = "/sync"
BULK_PATH = "/cases/bulk"
# The column chooser's checkboxes (``col``, one per column) work without JavaScript; they are folded into the
# canonical ``columns`` parameter by a redirect, so bookmarks only ever carry ``columns``.
CHOOSER_FIELD = "col"


@dataclass(frozen=True)
class GridData:
    page: Page
    counts: list[TabCount]
    accounts: AccountsOverview


def view_url(view: CaseView, path: str = GRID_PATH, **changes: Any) -> str:
    """``view`` with ``changes`` applied as a URL; any change starts from the first page (a cursor belongs to one
    sort and one filter)."""
    changed = replace(view.first_page(), **changes) if changes else view
    query = urlencode(changed.to_query())
    return f"{path}?{query}" if query else path


def bad_parameter_page(request: Request, error: ViewParameterError) -> Response:
    return render(request, "error.html", {
        "title": "This view cannot be shown",
        "message": f'The "{error.parameter}" parameter is not usable: {error.message}.',
    }, status_code=400)


def has_route(request: Request, path: str, method: str) -> bool:
    return any(entry.path == path and method in entry.methods for entry in route_table(request.app))


def returns_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def read(view: CaseView) -> GridData:
        with runtime.sessions() as session:
            cases = CaseList(session, current_label_set(runtime))
            data = GridData(cases.page(view), cases.tab_counts(view), cases.accounts_overview())
            session.rollback()  # read only; on SQLite do not keep the write lock the session began with
        return data

    @router.get(GRID_PATH)
    async def returns_page(request: Request, user: SignedInUser = Depends(current_user)) -> Response:
        params = request.query_params
        if CHOOSER_FIELD in params:
            chosen = [value for value in params.getlist(CHOOSER_FIELD) if value]
            kept = [(k, v) for k, v in params.multi_items() if k not in (CHOOSER_FIELD, "columns", "cursor")]
            kept.append(("columns", ",".join(chosen)))
            return RedirectResponse(f"{GRID_PATH}?{urlencode(kept)}", status_code=303)
        try:
            view = CaseView.from_query(params)
            data = await run_in_threadpool(read, view)
        except ViewParameterError as error:
            return bad_parameter_page(request, error)
        return render(request, "returns.html", grid_context(request, view, data, user))

    @router.get(GRID_PATH + "/export.{fmt}")
    async def export(fmt: str, request: Request, _user: SignedInUser = Depends(current_user)) -> Response:
        try:
            exported = await run_in_threadpool(
                export_cases, runtime, request.query_params, fmt, label_set=current_label_set(runtime)
            )
        except ViewParameterError as error:
            return bad_parameter_page(request, error)
        # Streamed from one read snapshot that never holds SQLite's write lock (sync.case_csv, sync.case_xlsx); a
        # million rows never sit in memory.
        return StreamingResponse(exported.chunks, media_type=exported.media_type, headers={
            "content-disposition": f'attachment; filename="{exported.filename}"',
            "cache-control": "no-store",
        })

    return router


# --- what the template gets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeaderCell:
    column: GridColumn
    url: str | None  # the sort link; None when the column cannot be sorted
    sorted: str | None  # "ascending" / "descending" when the grid is sorted on it (aria-sort)


def grid_context(request: Request, view: CaseView, data: GridData, user: SignedInUser) -> dict[str, Any]:
    now = datetime.now(UTC)
    visible = [COLUMNS_BY_KEY[key] for key in view.visible_columns]
    headers = []
    for column in visible:
        url = sorted_as = None
        if column.sortable:
            current = view.sort_column == column.key
            direction = ("desc" if view.sort_dir == "asc" else "asc") if current else "asc"
            url = view_url(view, sort=column.key, dir=direction)
            if current:
                sorted_as = "ascending" if view.sort_dir == "asc" else "descending"
        headers.append(HeaderCell(column, url, sorted_as))
    tabs = [
        {"key": c.key, "label": c.label, "count": c.count, "active": c.key == view.tab,
         "url": view_url(view, tab=c.key, sort=None, dir=None)}
        for c in data.counts
    ]
    page = data.page
    export_view = view.first_page()
    selected_accounts = set(view.account)
    return {
        "view": view,
        "tabs": tabs,
        "headers": headers,
        "rows": [row_cells(row, now) for row in page.rows],
        "next_url": view_url(view, cursor=page.next_cursor) if page.next_cursor else None,
        "prev_url": view_url(view, cursor=page.prev_cursor) if page.prev_cursor else None,
        "first_url": view_url(view) if view.cursor else None,
        "accounts": data.accounts,
        "selected_accounts": selected_accounts,
        "case_types": CASE_TYPES,
        "store_statuses": [s.value for s in StoreStatus],
        "all_columns": [c for c in GRID_COLUMNS],
        "visible_keys": set(view.visible_columns),
        "hidden_state": _hidden_state(view),
        "chooser_state": [(k, v) for k, v in view.first_page().to_query() if k != "columns"],
        "export_csv": view_url(export_view, GRID_PATH + "/export.csv"),
        "export_xlsx": view_url(export_view, GRID_PATH + "/export.xlsx"),
        "reset_url": view_url(CaseView(tab=view.tab, columns=view.columns, limit=view.limit)),
        "can_decide": user.can(Role.AGENT),
        "bulk_path": BULK_PATH,
        "sync_path": SYNC_PATH if has_route(request, SYNC_PATH, "POST") else None,
        "filters_active": bool(set(view.applied_filters()) - {"tab", "account", "q"}),
        "needs_action_tab": view.tab == NEEDS_ACTION_TAB,
        "all_tab": ALL_TAB,
    }


def _hidden_state(view: CaseView) -> list[tuple[str, str]]:
    """What the filters form must carry along unchanged: the tab, the sort, the columns and the page size."""
    return [(k, v) for k, v in view.first_page().to_query() if k in ("tab", "sort", "dir", "columns", "limit")]


def row_cells(row: CaseRow, now: datetime) -> dict[str, Any]:
    return {
        "row": row,
        "url": f"/cases/{row.id}",
        "created_at": _when(row.created_at),
        "updated_at": _when(row.updated_at),
        "deadline": _when(row.deadline),
        "deadline_iso": row.deadline.astimezone(UTC).isoformat().replace("+00:00", "Z") if row.deadline else "",
        "time_left": time_left(row.deadline, now) if row.deadline is not None and row.needs_action else "",
        "overdue": row.deadline is not None and row.needs_action and row.deadline < now,
        "amount": money_text(row.refund_amount, row.currency),
    }


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment is not None else ""
