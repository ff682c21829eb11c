"""Analytics for a period, account(s) and store: one report of every metric, and each metric as a table (the CSV
beside every chart and the JSON API give the same rows).

Definitions, in the merchant's words:
- requests by type and status: cases created in the period, by TikTok request type and store-side status;
- top reasons and their weekly trend: the ten most frequent reasons, and the top five per week (Monday, UTC);
- return rate: returned units (lines of return requests created in the period) ÷ units sold (order lines of paid
  orders created in the period, from Search Orders), per seller SKU and per product name;
- refunds: refunded cases (store status Refunded) per currency and month of the refund, split into TikTok's
  subtotal, shipping and tax, with the platform- and seller-funded discounts beside; currencies are never added up;
- time to decision: hours from the request to the first decision TikTok applied (merchant or rule);
- decided by: TikTok at the deadline (auto-decision), arbitration, or the merchant; missed deadline: TikTok decided
  for the merchant, or the case still awaits the merchant after its deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from returnbridge.db.engine import transaction
from returnbridge.db.repositories.analytics import (
    AnalyticsRepository,
    AnalyticsScope,
    DecidedBy,
    DecisionTimes,
    ReasonWeek,
    RefundTotals,
    ReturnRate,
    TypeStatusCount,
)
from returnbridge.db.repositories.analytics_summary import SummaryAnalytics
from returnbridge.errors import UserFacingError

if TYPE_CHECKING:
    from returnbridge.sync.runtime import Runtime

TREND_REASONS = 5


@dataclass(frozen=True)
class AnalyticsReport:
    scope: AnalyticsScope
    by_type_status: list[TypeStatusCount]
    top_reasons: list[tuple[str, int]]
    reason_weeks: list[ReasonWeek]
    sku_rates: list[ReturnRate]
    product_rates: list[ReturnRate]
    refunds: list[RefundTotals]
    decision_times: DecisionTimes
    decided_by: DecidedBy

    @property
    def cases(self) -> int:
        return sum(row.cases for row in self.by_type_status)


def build_report(runtime: Runtime, scope: AnalyticsScope, *, now: datetime | None = None) -> AnalyticsReport:
    now = now or datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        # The daily summaries answer in milliseconds; the cases themselves only when the scope needs them.
        repo: AnalyticsRepository | SummaryAnalytics = (
            SummaryAnalytics(session) if SummaryAnalytics.serves(scope) else AnalyticsRepository(session))
        reasons = repo.top_reasons(scope)
        return AnalyticsReport(
            scope=scope,
            by_type_status=repo.by_type_and_status(scope),
            top_reasons=reasons,
            reason_weeks=repo.reasons_by_week(scope, [r for r, _ in reasons[:TREND_REASONS]]),
            sku_rates=repo.return_rates(scope, "sku"),
            product_rates=repo.return_rates(scope, "product"),
            refunds=repo.refunds(scope),
            decision_times=repo.decision_times(scope),
            decided_by=repo.decided_by(scope, now),
        )


# --- tables: the CSV and JSON of each chart -------------------------------------------------------------------

Table = tuple[list[str], list[list[Any]]]


def _share(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


def _rates(rates: list[ReturnRate], label: str) -> Table:
    return [label, "returned units", "units sold", "return rate"], [[r.key, r.returned, r.sold, r.rate] for r in rates]


def table(report: AnalyticsReport, name: str) -> Table:
    """The rows behind one chart; ``UnknownMetric`` for a name not in ``METRICS``."""
    if name == "requests":
        return (["kind", "type", "status", "cases"],
                [[r.kind, r.type, r.status, r.cases] for r in report.by_type_status])
    if name == "reasons":
        return ["reason", "cases"], [[r or "(none)", n] for r, n in report.top_reasons]
    if name == "reason-trend":
        return ["week", "reason", "cases"], [[w.week, w.reason or "(none)", w.cases] for w in report.reason_weeks]
    if name == "return-rate-sku":
        return _rates(report.sku_rates, "seller SKU")
    if name == "return-rate-product":
        return _rates(report.product_rates, "product")
    if name == "refunds":
        return (["currency", "month", "cases", "refund total", "subtotal", "shipping", "tax",
                 "platform-funded discounts", "seller-funded discounts"],
                [[r.currency, r.month, r.cases, r.total, r.subtotal, r.shipping, r.tax, r.platform_funded,
                  r.seller_funded] for r in report.refunds])
    if name == "decision-time":
        t = report.decision_times
        rows: list[list[Any]] = [[bucket, count] for bucket, count in t.buckets.items()]
        rows.append(["average hours", t.average_hours])
        return ["hours to decision", "cases"], rows
    if name == "decided-by":
        d = report.decided_by
        return (["who decided", "cases", "share"], [
            ["TikTok (at the deadline)", d.by_tiktok, _share(d.by_tiktok, d.cases)],
            ["arbitration", d.in_arbitration, _share(d.in_arbitration, d.cases)],
            ["merchant", d.by_merchant, _share(d.by_merchant, d.cases)],
            ["missed seller deadline", d.missed_deadline, _share(d.missed_deadline, d.cases)],
            ["all cases", d.cases, _share(d.cases, d.cases)],
        ])
    raise UnknownMetric(f"unknown metric {name!r}: one of {', '.join(METRICS)}")


METRICS: dict[str, str] = {
    "requests": "Requests by type and status",
    "reasons": "Top reasons",
    "reason-trend": "Top reasons by week",
    "return-rate-sku": "Return rate per SKU",
    "return-rate-product": "Return rate per product",
    "refunds": "Refunded amounts by currency and month of the refund",
    "decision-time": "Time from request to decision",
    "decided-by": "Who decided",
}


class UnknownMetric(UserFacingError):
    pass


def json_cell(value: Any) -> Any:
    """Decimals as text (exact), everything else as is."""
    return format(value, "f") if isinstance(value, Decimal) else value


def scope_choices(runtime: Runtime) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The accounts and stores a merchant can narrow the analytics to: (id, name) pairs."""
    from returnbridge.db.repositories.accounts import AccountRepository
    from returnbridge.db.repositories.stores import StoreRepository

    with transaction(runtime.sessions) as session:
        accounts = [(a.id, a.shop_name or a.shop_id) for a in AccountRepository(session, runtime.box).list_all()]
        stores = [(s.id, s.name or s.base_url) for s in StoreRepository(session).all()]
    return accounts, stores
