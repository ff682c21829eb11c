"""``/analytics`` (every signed-in user): charts with their tables and CSVs for a period, account(s) and store;
``/api/v1/analytics`` and ``/api/v1/analytics/{metric}`` give the same rows as JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from returnbridge.db.repositories.analytics import AnalyticsScope
from returnbridge.domain.row_ids import row_id
from returnbridge.errors import UserFacingError
from returnbridge.exports.csv_stream import csv_chunks
from returnbridge.sync import analytics
from returnbridge.sync.runtime import Runtime
from returnbridge.web.auth import SignedInUser, current_user
from returnbridge.web.charts import bar_chart, line_chart
from returnbridge.web.pages import render
from returnbridge.web.row_ids import RowIdItem

DEFAULT_DAYS = 90


class BadPeriod(UserFacingError):
    pass


def _day(text: str | None, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadPeriod(f"{what} must be a date like 2026-01-31; got {text!r}") from None


def parse_scope(since: str | None, until: str | None, accounts: list[int], store: str | None,
                *, today: date | None = None) -> tuple[AnalyticsScope, dict[str, Any]]:
    """The scope from the query (``until`` is an inclusive day) and the form values that show it."""
    today = today or datetime.now(UTC).date()
    start = _day(since, "since") if since is not None else today - timedelta(days=DEFAULT_DAYS)
    end = _day(until, "until")
    if start and end and end < start:
        raise BadPeriod(f"the period ends ({end}) before it starts ({start})")
    store_id = row_id(store)
    scope = AnalyticsScope(
        since=datetime.combine(start, time(), UTC) if start else None,
        until=datetime.combine(end + timedelta(days=1), time(), UTC) if end else None,
        account_ids=tuple(sorted(set(accounts))),
        store_id=store_id,
    )
    return scope, {"since": start.isoformat() if start else "", "until": end.isoformat() if end else "",
                   "accounts": list(scope.account_ids), "store": store_id}


def _charts(report: analytics.AnalyticsReport) -> list[dict[str, Any]]:
    charts: list[dict[str, Any]] = []

    def add(name: str, svg: Any, note: str = "") -> None:
        header, rows = analytics.table(report, name)
        charts.append({"name": name, "title": analytics.METRICS[name], "svg": svg, "header": header, "rows": rows,
                       "note": note})

    add("requests", bar_chart(analytics.METRICS["requests"], [
        (f"{r.type or r.kind} · {r.status or '?'}", r.cases) for r in report.by_type_status]))
    add("reasons", bar_chart(analytics.METRICS["reasons"], [(r or "(none)", n) for r, n in report.top_reasons]))
    weeks = sorted({w.week for w in report.reason_weeks})
    series: dict[str, list[int]] = {}
    counts = {(w.reason, w.week): w.cases for w in report.reason_weeks}
    for reason in dict.fromkeys(w.reason for w in report.reason_weeks):
        series[reason or "(none)"] = [counts.get((reason, week), 0) for week in weeks]
    add("reason-trend", line_chart(analytics.METRICS["reason-trend"], weeks, series))
    add("return-rate-sku", bar_chart(analytics.METRICS["return-rate-sku"], [
        (r.key, (r.rate * 100).quantize(Decimal("0.1"))) for r in report.sku_rates if r.rate is not None], unit="%"),
        note="Return rate = returned units ÷ units sold (TikTok orders) in the period; SKUs without sales "
             "in the period have no rate.")
    add("return-rate-product", bar_chart(analytics.METRICS["return-rate-product"], [
        (r.key, (r.rate * 100).quantize(Decimal("0.1"))) for r in report.product_rates if r.rate is not None],
        unit="%"))
    # One chart per currency: amounts in different currencies never share a scale or a sum.
    currencies = dict.fromkeys(r.currency for r in report.refunds)
    refund_svgs = [bar_chart(f"Refunded in {c}, by month of the refund", [(r.month, r.total) for r in report.refunds
                                                            if r.currency == c], unit=c) for c in currencies]
    add("refunds", refund_svgs or bar_chart(analytics.METRICS["refunds"], []))
    add("decision-time", bar_chart(analytics.METRICS["decision-time"],
                                   list(report.decision_times.buckets.items()), unit="cases"))
    d = report.decided_by
    add("decided-by", bar_chart(analytics.METRICS["decided-by"], [
        ("TikTok (at the deadline)", d.by_tiktok), ("arbitration", d.in_arbitration), ("merchant", d.by_merchant),
        ("missed seller deadline", d.missed_deadline)], unit="cases"))
    return charts


def analytics_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    api = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

    async def report_for(since: str | None, until: str | None, accounts: list[int], store: str | None
                         ) -> tuple[analytics.AnalyticsReport, dict[str, Any]]:
        scope, shown = parse_scope(since, until, accounts, store)
        report = await run_in_threadpool(analytics.build_report, runtime, scope)
        return report, shown

    @router.get("/analytics")
    async def page(request: Request, since: str | None = None, until: str | None = None,
                   account: list[RowIdItem] = Query(default=[]), store: str | None = None,
                   user: SignedInUser = Depends(current_user)) -> Response:
        try:
            report, shown = await report_for(since, until, account, store)
        except BadPeriod as bad:
            report, shown = await report_for(None, None, [], None)
            shown["error"] = str(bad)
        accounts, stores = await run_in_threadpool(analytics.scope_choices, runtime)
        query = request.url.query
        return render(request, "analytics.html", {
            "report": report, "charts": _charts(report), "shown": shown, "accounts": accounts, "stores": stores,
            "query": query, "error": shown.get("error", ""),
        })

    @router.get("/analytics/{metric}.csv")
    async def csv(metric: str, since: str | None = None, until: str | None = None,
                  account: list[RowIdItem] = Query(default=[]), store: str | None = None,
                  user: SignedInUser = Depends(current_user)) -> Response:
        if metric not in analytics.METRICS:
            return JSONResponse({"detail": f"unknown metric {metric!r}"}, status_code=404)
        report, _ = await report_for(since, until, account, store)
        header, rows = analytics.table(report, metric)
        return StreamingResponse(csv_chunks(header, rows), media_type="text/csv; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="returnbridge-{metric}.csv"'})

    @api.get("", summary="Every analytics table for a period, account(s) and store")
    async def api_all(since: str | None = None, until: str | None = None, account: list[RowIdItem] = Query(default=[]),
                      store: str | None = None, user: SignedInUser = Depends(current_user)) -> dict[str, Any]:
        report, shown = await report_for(since, until, account, store)
        return {"scope": shown, "metrics": {name: _json(report, name) for name in analytics.METRICS}}

    @api.get("/{metric}", summary="One analytics table (the rows of its chart)")
    async def api_one(metric: str, since: str | None = None, until: str | None = None,
                      account: list[RowIdItem] = Query(default=[]), store: str | None = None,
                      user: SignedInUser = Depends(current_user)) -> Any:
        if metric not in analytics.METRICS:
            return JSONResponse({"detail": f"unknown metric {metric!r}: one of {', '.join(analytics.METRICS)}"},
                                status_code=404)
        report, shown = await report_for(since, until, account, store)
        return {"scope": shown, **_json(report, metric)}

    # The page stays out of the OpenAPI document; the JSON API must be in it (a router hidden from the schema hides
    # every router included into it).
    combined = APIRouter()
    combined.include_router(router)
    combined.include_router(api)
    return combined


def _json(report: analytics.AnalyticsReport, name: str) -> dict[str, Any]:
    header, rows = analytics.table(report, name)
    return {"title": analytics.METRICS[name], "columns": header,
            "rows": [[analytics.json_cell(cell) for cell in row] for row in rows]}
