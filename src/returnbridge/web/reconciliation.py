"""``/reconciliation``: the ledger (``sync.reconcile``) in the back-office: per case and store, TikTok's refund
against what the store recorded, filtered by status, with totals by currency (never added across currencies), a
CSV export (formula-neutralised) and a one-click retry of a held or failed store effect (agents and admins)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from returnbridge.domain.row_ids import row_id
from returnbridge.errors import UserFacingError
from returnbridge.exports.cells import Cell
from returnbridge.exports.csv_stream import csv_chunks
from returnbridge.sync.reconcile import DIFFERS, DUPLICATE, MATCHED, MISSING, LedgerRow, reconcile
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.stores import retry_effect
from returnbridge.web.auth import SignedInUser, can_decide, current_user
from returnbridge.web.auth.client import is_https
from returnbridge.web.money import amount_cell
from returnbridge.web.pages import render

STATUSES = {"matched": MATCHED, "missing": MISSING, "differs": DIFFERS, "duplicate": DUPLICATE}
RETRYABLE = frozenset({"held", "failed"})
HEADER = ["case id", "TikTok id", "TikTok order id", "store id", "currency", "TikTok refunded", "store recorded",
          "store records", "status", "effect state", "note"]


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    except ValueError:
        raise UserFacingError(f"since must be a date like 2026-01-31; got {text!r}") from None


def filtered(rows: Iterable[LedgerRow], status: str) -> list[LedgerRow]:
    wanted = STATUSES.get(status)
    return [r for r in rows if wanted is None or r.status == wanted]


def totals(rows: Iterable[LedgerRow]) -> list[dict[str, Any]]:
    sums: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = sums.setdefault(row.currency, {"currency": row.currency, "cases": 0, "tiktok": Decimal(0),
                                               "store": Decimal(0)})
        entry["cases"] += 1
        entry["tiktok"] += row.tiktok_refunded or Decimal(0)
        entry["store"] += row.store_recorded or Decimal(0)
    for entry in sums.values():
        entry["difference"] = entry["tiktok"] - entry["store"]
    return [sums[c] for c in sorted(sums)]


def _cells(rows: Iterable[LedgerRow]) -> Iterator[list[Cell]]:
    for r in rows:
        yield [r.case_id, r.tiktok_id, r.tiktok_order_id, r.store_id, r.currency, r.tiktok_refunded,
               r.store_recorded, r.store_records, r.status, r.effect_state, r.note]


def reconciliation_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def ledger(store: str | None, since: str | None) -> list[LedgerRow]:
        store_id = row_id(store)
        found = await run_in_threadpool(lambda: reconcile(runtime, store_id=store_id, since=_since(since)))
        return found.rows

    @router.get("/reconciliation")
    async def page(request: Request, status: str = "", store: str | None = None, since: str | None = None,
                   user: SignedInUser = Depends(current_user)) -> Response:
        every = await ledger(store, since)
        rows = filtered(every, status)
        counts = {key: sum(1 for r in every if r.status == label) for key, label in STATUSES.items()}
        return render(request, "reconciliation.html", {
            "rows": rows, "totals": totals(rows), "counts": counts, "all": len(every), "status": status,
            "store": store or "", "since": since or "", "query": request.url.query, "retryable": RETRYABLE,
            "labels": STATUSES, "money": amount_cell,
        })

    @router.get("/reconciliation.csv")
    async def export(status: str = "", store: str | None = None, since: str | None = None,
                     user: SignedInUser = Depends(current_user)) -> Response:
        rows = filtered(await ledger(store, since), status)
        return StreamingResponse(csv_chunks(HEADER, _cells(rows)), media_type="text/csv; charset=utf-8",
                                 headers={"content-disposition": 'attachment; filename="returnbridge-ledger.csv"'})

    @router.post("/reconciliation/effects/{effect_id}/retry")
    async def retry(request: Request, effect_id: int, user: SignedInUser = Depends(can_decide)) -> Response:
        back = request.headers.get("referer", "")
        target = back if back.startswith(str(request.base_url)) else "/reconciliation"
        response = RedirectResponse(target, status_code=303)
        try:
            view = await run_in_threadpool(lambda: retry_effect(runtime, effect_id, actor_name=user.email))
            message = f"Retry of the store {view.kind} for case {view.case_id} is queued."
        except UserFacingError as refused:
            message = str(refused)[:1].upper() + str(refused)[1:]
        request.app.state.flasher.add(request, response, message, secure=is_https(request, runtime.settings))
        return response

    return router
