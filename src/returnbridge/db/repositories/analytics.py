"""Analytics aggregates in SQL, the same answers on SQLite and PostgreSQL.

Every query filters by ``AnalyticsScope`` (period on the TikTok creation time — on the refund time for refunds —,
accounts, store) and aggregates in the database: a million cases are never loaded into Python. These read the cases
themselves; ``analytics_summary`` gives the same answers from the daily summaries and serves the page whenever it
can (this one stays for a store filter and a period that does not start and end at midnight UTC). Money is summed
as integer millionths and always grouped by currency, so amounts in different currencies are never added together.
Weeks start on Monday (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Float, and_, case, exists, func, literal, select, type_coerce
from sqlalchemy.orm import Session

from returnbridge.db.models import Case, CaseLine, Decision, OrderLineSold, StoreEffect

REFUNDED_STATUSES = ("Refunded",)


@dataclass(frozen=True)
class AnalyticsScope:
    since: datetime | None = None
    until: datetime | None = None
    account_ids: tuple[int, ...] = ()
    store_id: int | None = None


def _micros(value: Any) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-6).normalize() if value else Decimal(0)


def _raw(column: Any) -> Any:
    # The stored integer millionths: summing through the Decimal column type would convert every row.
    return func.coalesce(type_coerce(column, BigInteger()), 0)


@dataclass(frozen=True)
class TypeStatusCount:
    kind: str
    type: str
    status: str
    cases: int


@dataclass(frozen=True)
class ReasonWeek:
    week: str
    reason: str
    cases: int


@dataclass(frozen=True)
class ReturnRate:
    key: str  # a seller SKU or a product name
    returned: int
    sold: int

    @property
    def rate(self) -> Decimal | None:
        """Returned units ÷ units sold, as a fraction to four places; None when nothing was sold in the period."""
        return (Decimal(self.returned) / Decimal(self.sold)).quantize(Decimal("0.0001")) if self.sold else None


@dataclass(frozen=True)
class RefundTotals:
    currency: str
    month: str
    cases: int
    total: Decimal
    subtotal: Decimal
    shipping: Decimal
    tax: Decimal
    platform_funded: Decimal  # discounts TikTok paid for (product + shipping)
    seller_funded: Decimal  # discounts the merchant paid for (product + shipping)


@dataclass(frozen=True)
class DecisionTimes:
    decided: int
    average_hours: Decimal | None
    buckets: dict[str, int] = field(default_factory=dict)  # "< 1 h", "1–24 h", "24–48 h", "≥ 48 h"


@dataclass(frozen=True)
class DecidedBy:
    cases: int
    by_tiktok: int  # TikTok decided at the seller's deadline (auto-approval)
    in_arbitration: int  # TikTok's arbitration took or is taking the decision
    by_merchant: int  # a decision of the merchant (or a rule) that TikTok applied
    missed_deadline: int  # TikTok decided for the merchant, or the deadline passed with the case still open


BUCKETS = ("< 1 h", "1–24 h", "24–48 h", "≥ 48 h")


class AnalyticsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    # --- dialect helpers ---------------------------------------------------------------------------------------

    def _week(self, column: Any) -> Any:
        """The Monday (UTC) starting the week of ``column``, as YYYY-MM-DD text."""
        if self.dialect == "postgresql":
            return func.to_char(func.date_trunc("week", func.timezone("UTC", column)), "YYYY-MM-DD")
        # SQLite stores UTC text; 'weekday 0' moves to the next Sunday (or stays), '-6 days' back to its Monday.
        return func.date(column, "weekday 0", "-6 days")

    def _month(self, column: Any) -> Any:
        if self.dialect == "postgresql":
            return func.to_char(func.timezone("UTC", column), "YYYY-MM")
        return func.strftime("%Y-%m", column)

    def _hours_between(self, later: Any, earlier: Any) -> Any:
        if self.dialect == "postgresql":
            return func.extract("epoch", later - earlier) / 3600.0
        return (func.julianday(later) - func.julianday(earlier)) * 24.0

    def _scope(self, scope: AnalyticsScope, cases: Any = Case, at: Any = None) -> ColumnElement[bool]:
        """The scope's cases; the period applies to ``at`` (the request time unless told)."""
        at = cases.tiktok_create_time if at is None else at
        parts: list[ColumnElement[bool]] = []
        if scope.since is not None:
            parts.append(at >= scope.since)
        if scope.until is not None:
            parts.append(at < scope.until)
        if scope.account_ids:
            parts.append(cases.account_id.in_(scope.account_ids))
        if scope.store_id is not None:
            parts.append(exists().where(StoreEffect.case_id == cases.id, StoreEffect.store_id == scope.store_id))
        return and_(literal(True), *parts) if parts else literal(True)

    # --- metrics -----------------------------------------------------------------------------------------------

    def by_type_and_status(self, scope: AnalyticsScope) -> list[TypeStatusCount]:
        query = (
            select(Case.kind, Case.type, Case.store_status, func.count())
            .where(self._scope(scope))
            .group_by(Case.kind, Case.type, Case.store_status)
            .order_by(Case.kind, Case.type, Case.store_status)
        )
        return [TypeStatusCount(k, t or "", s or "", int(n)) for k, t, s, n in self.session.execute(query)]

    def top_reasons(self, scope: AnalyticsScope, limit: int = 10) -> list[tuple[str, int]]:
        count = func.count().label("n")
        query = (
            select(Case.reason_name, count).where(self._scope(scope))
            .group_by(Case.reason_name).order_by(count.desc(), Case.reason_name).limit(limit)
        )
        return [(r or "", int(n)) for r, n in self.session.execute(query)]

    def reasons_by_week(self, scope: AnalyticsScope, reasons: list[str]) -> list[ReasonWeek]:
        if not reasons:
            return []
        week = self._week(Case.tiktok_create_time).label("week")
        query = (
            select(week, Case.reason_name, func.count())
            .where(self._scope(scope), Case.reason_name.in_(reasons), Case.tiktok_create_time.is_not(None))
            .group_by(week, Case.reason_name).order_by(week, Case.reason_name)
        )
        return [ReasonWeek(str(w), r or "", int(n)) for w, r, n in self.session.execute(query)]

    def return_rates(self, scope: AnalyticsScope, by: str, limit: int = 20) -> list[ReturnRate]:
        """Returned units (lines of return cases) ÷ units sold (Search Orders), per seller SKU or product name,
        both counted within the period; the ``limit`` keys with most returned units."""
        line_key = CaseLine.seller_sku if by == "sku" else CaseLine.product_name
        sold_key = OrderLineSold.seller_sku if by == "sku" else OrderLineSold.product_name
        returned_count = func.count().label("returned")
        returned = (
            select(line_key.label("key"), returned_count)
            .join(Case, Case.id == CaseLine.case_id)
            .where(self._scope(scope), Case.kind == "return", line_key != "")
            .group_by(line_key).order_by(returned_count.desc(), line_key).limit(limit)
        )
        rows = [(str(k), int(n)) for k, n in self.session.execute(returned)]
        if not rows:
            return []
        sold_where: list[Any] = [sold_key.in_([k for k, _ in rows])]
        if scope.since is not None:
            sold_where.append(OrderLineSold.order_create_time >= scope.since)
        if scope.until is not None:
            sold_where.append(OrderLineSold.order_create_time < scope.until)
        if scope.account_ids:
            sold_where.append(OrderLineSold.account_id.in_(scope.account_ids))
        sold = dict(self.session.execute(select(sold_key, func.count()).where(*sold_where).group_by(sold_key)).all())
        return [ReturnRate(k, n, int(sold.get(k, 0))) for k, n in rows]

    def refunds(self, scope: AnalyticsScope) -> list[RefundTotals]:
        """Per currency and month of the refund (when the case reached Refunded), not of the request: a refund
        belongs to the period in which the money went back. The period filters refund times too."""
        month = self._month(Case.refunded_at).label("month")
        query = (
            select(
                Case.currency, month, func.count(),
                func.sum(_raw(Case.refund_total)), func.sum(_raw(Case.refund_subtotal)),
                func.sum(_raw(Case.refund_shipping_fee)), func.sum(_raw(Case.refund_tax)),
                func.sum(_raw(Case.product_platform_discount) + _raw(Case.shipping_fee_platform_discount)),
                func.sum(_raw(Case.product_seller_discount) + _raw(Case.shipping_fee_seller_discount)),
            )
            .where(self._scope(scope, at=Case.refunded_at), Case.store_status.in_(REFUNDED_STATUSES),
                   Case.currency != "", Case.refunded_at.is_not(None))
            .group_by(Case.currency, month).order_by(Case.currency, month)
        )
        return [
            RefundTotals(c, str(m or ""), int(n), *(_micros(v) for v in values))
            for c, m, n, *values in self.session.execute(query)
        ]

    def decision_times(self, scope: AnalyticsScope) -> DecisionTimes:
        """Hours from the buyer's request to the first decision TikTok applied (merchant or rule)."""
        first = (
            select(Decision.case_id, func.min(Decision.finished_at).label("decided_at"))
            .where(Decision.state == "done", Decision.finished_at.is_not(None))
            .group_by(Decision.case_id).subquery()
        )
        hours = type_coerce(self._hours_between(first.c.decided_at, Case.tiktok_create_time), Float())
        query = (
            select(
                func.count(), func.avg(hours),
                func.sum(case((hours < 1, 1), else_=0)),
                func.sum(case((and_(hours >= 1, hours < 24), 1), else_=0)),
                func.sum(case((and_(hours >= 24, hours < 48), 1), else_=0)),
                func.sum(case((hours >= 48, 1), else_=0)),
            )
            .select_from(Case).join(first, first.c.case_id == Case.id)
            .where(self._scope(scope), Case.tiktok_create_time.is_not(None))
        )
        n, average, *counts = self.session.execute(query).one()
        avg = None if average is None else Decimal(str(round(float(average), 1)))
        return DecisionTimes(int(n or 0), avg, {b: int(c or 0) for b, c in zip(BUCKETS, counts, strict=True)})

    def decided_by(self, scope: AnalyticsScope, now: datetime) -> DecidedBy:
        merchant = exists().where(Decision.case_id == Case.id, Decision.state == "done")
        missed = (Case.decided_by_tiktok.is_(True)) | and_(
            Case.needs_action.is_(True), Case.seller_deadline.is_not(None), Case.seller_deadline < now
        )
        query = select(
            func.count(),
            func.sum(case((Case.decided_by_tiktok.is_(True), 1), else_=0)),
            func.sum(case((Case.arbitration_status != "", 1), else_=0)),
            func.sum(case((merchant, 1), else_=0)),
            func.sum(case((missed, 1), else_=0)),
        ).where(self._scope(scope))
        n, tiktok, arbitration, by_merchant, late = self.session.execute(query).one()
        return DecidedBy(int(n or 0), int(tiktok or 0), int(arbitration or 0), int(by_merchant or 0), int(late or 0))
