"""Analytics read from the daily summaries (migration 0012) instead of the cases: the same answers as
``AnalyticsRepository``, in a few thousand rows whatever the number of cases.

They serve a period of whole UTC days (what the page and the API ask for) over all or some accounts. A store
filter, or a period that starts or ends inside a day, is answered from the cases (``serves`` says which).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, case, cast, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from returnbridge.db.models import (
    Case,
    DailyDecisions,
    DailyReasons,
    DailyRefunds,
    DailyRequests,
    DailySkuUnits,
    MonthlySkuUnits,
)
from returnbridge.db.repositories.analytics import (
    BUCKETS,
    AnalyticsScope,
    DecidedBy,
    DecisionTimes,
    ReasonWeek,
    RefundTotals,
    ReturnRate,
    TypeStatusCount,
    _micros,
)

# daily_decisions.decision_bucket is the lower bound in hours (-1: before the request, -99: not decided); the
# charts' four ranges are sums of buckets.
NOT_DECIDED = -99


def _chart_bucket(lower_hours: int) -> str:
    if lower_hours < 1:
        return BUCKETS[0]
    if lower_hours < 24:
        return BUCKETS[1]
    if lower_hours < 48:
        return BUCKETS[2]
    return BUCKETS[3]


def _whole_day(moment: datetime | None) -> bool:
    return moment is None or moment.astimezone(UTC).timetz().replace(tzinfo=None) == time()


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


class SummaryAnalytics:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    @staticmethod
    def serves(scope: AnalyticsScope) -> bool:
        return scope.store_id is None and _whole_day(scope.since) and _whole_day(scope.until)

    def _where(self, table: Any, scope: AnalyticsScope, day: Any = None) -> ColumnElement[bool]:
        day = table.day if day is None else day
        parts: list[ColumnElement[bool]] = []
        if scope.since is not None:
            parts.append(day >= _day(scope.since))
        if scope.until is not None:
            parts.append(day < _day(scope.until))
        if scope.account_ids:
            parts.append(table.account_id.in_(scope.account_ids))
        return and_(literal(True), *parts) if parts else literal(True)

    # --- metrics -----------------------------------------------------------------------------------------------

    def by_type_and_status(self, scope: AnalyticsScope) -> list[TypeStatusCount]:
        t = DailyRequests
        n = func.sum(t.cases)
        query = (select(t.kind, t.type, t.store_status, n).where(self._where(t, scope))
                 .group_by(t.kind, t.type, t.store_status).having(n > 0).order_by(t.kind, t.type, t.store_status))
        return [TypeStatusCount(k, ty or "", s or "", int(c)) for k, ty, s, c in self.session.execute(query)]

    def top_reasons(self, scope: AnalyticsScope, limit: int = 10) -> list[tuple[str, int]]:
        t = DailyReasons
        n = func.sum(t.cases).label("n")
        query = (select(t.reason, n).where(self._where(t, scope)).group_by(t.reason).having(func.sum(t.cases) > 0)
                 .order_by(n.desc(), t.reason).limit(limit))
        return [(r or "", int(c)) for r, c in self.session.execute(query)]

    def _week(self, day: Any) -> Any:
        if self.dialect == "postgresql":
            return func.to_char(func.date_trunc("week", cast(func.nullif(day, ""), Date())), "YYYY-MM-DD")
        return func.date(day, "weekday 0", "-6 days")

    def reasons_by_week(self, scope: AnalyticsScope, reasons: list[str]) -> list[ReasonWeek]:
        if not reasons:
            return []
        t = DailyReasons
        week = self._week(t.day).label("week")
        n = func.sum(t.cases)
        query = (select(week, t.reason, n).where(self._where(t, scope), t.reason.in_(reasons), t.day != "")
                 .group_by(week, t.reason).having(n > 0).order_by(week, t.reason))
        return [ReasonWeek(str(w), r or "", int(c)) for w, r, c in self.session.execute(query)]

    def _sku_rows(self, scope: AnalyticsScope) -> Any:
        """The SKU-unit rows of the period: whole months from the monthly table, the partial first and last
        months' days from the daily one."""
        since = scope.since.astimezone(UTC).date() if scope.since else None
        until = scope.until.astimezone(UTC).date() if scope.until else None
        first_whole = None if since is None else (since if since.day == 1 else _next_month(since))
        end_whole = None if until is None else _month_start(until)
        selects = []
        day_ranges: list[tuple[date | None, date | None]] = []
        if first_whole is not None and end_whole is not None and first_whole >= end_whole:
            day_ranges.append((since, until))  # the period lies within one month (or two partial ones)
        else:
            m = MonthlySkuUnits
            where: list[Any] = []
            if first_whole is not None:
                where.append(m.period >= first_whole.isoformat()[:7])
            if end_whole is not None:
                where.append(m.period < end_whole.isoformat()[:7])
            if scope.account_ids:
                where.append(m.account_id.in_(scope.account_ids))
            selects.append(select(m.seller_sku, m.product_name, m.returned_units, m.units_sold).where(*where))
            if since is not None and first_whole != since:
                day_ranges.append((since, first_whole))
            if until is not None and end_whole != until:
                day_ranges.append((end_whole, until))
        for low, high in day_ranges:
            d = DailySkuUnits
            where = [d.period != ""]
            if low is not None:
                where.append(d.period >= low.isoformat())
            if high is not None:
                where.append(d.period < high.isoformat())
            if scope.account_ids:
                where.append(d.account_id.in_(scope.account_ids))
            selects.append(select(d.seller_sku, d.product_name, d.returned_units, d.units_sold).where(*where))
        return union_all(*selects).subquery() if len(selects) > 1 else selects[0].subquery()

    def return_rates(self, scope: AnalyticsScope, by: str, limit: int = 20) -> list[ReturnRate]:
        rows = self._sku_rows(scope)
        key = rows.c.seller_sku if by == "sku" else rows.c.product_name
        returned = func.sum(rows.c.returned_units).label("returned")
        query = (select(key, returned, func.sum(rows.c.units_sold)).where(key != "").group_by(key)
                 .having(func.sum(rows.c.returned_units) > 0).order_by(returned.desc(), key).limit(limit))
        return [ReturnRate(str(k), int(r), int(s or 0)) for k, r, s in self.session.execute(query)]

    def refunds(self, scope: AnalyticsScope) -> list[RefundTotals]:
        """Per currency and month of the refund (the period filters refund days too)."""
        t = DailyRefunds
        month = func.substr(t.day, 1, 7).label("month")
        n = func.sum(t.cases)
        query = (
            select(t.currency, month, n, func.sum(t.total), func.sum(t.subtotal), func.sum(t.shipping),
                   func.sum(t.tax), func.sum(t.platform_funded), func.sum(t.seller_funded))
            .where(self._where(t, scope)).group_by(t.currency, month).having(n > 0).order_by(t.currency, month)
        )
        return [RefundTotals(c, str(m or ""), int(k), *(_micros(v) for v in values))
                for c, m, k, *values in self.session.execute(query)]

    def decision_times(self, scope: AnalyticsScope) -> DecisionTimes:
        t = DailyDecisions
        query = (select(t.decision_bucket, func.sum(t.cases), func.sum(t.decision_ms))
                 .where(self._where(t, scope), t.merchant_decided.is_(True), t.decision_bucket != NOT_DECIDED)
                 .group_by(t.decision_bucket))
        buckets = dict.fromkeys(BUCKETS, 0)
        decided, total_ms = 0, 0
        for lower, cases, ms in self.session.execute(query):
            buckets[_chart_bucket(int(lower))] += int(cases or 0)
            decided += int(cases or 0)
            total_ms += int(ms or 0)
        average = None if not decided else Decimal(str(round(total_ms / decided / 3_600_000, 1)))
        return DecisionTimes(decided, average, buckets)

    def decided_by(self, scope: AnalyticsScope, now: datetime) -> DecidedBy:
        t = DailyDecisions
        today = _day(now)
        overdue = and_(t.open_deadline_day != "", t.open_deadline_day < today)
        query = select(
            func.sum(t.cases),
            func.sum(case((t.decided_by_tiktok.is_(True), t.cases), else_=0)),
            func.sum(case((t.in_arbitration.is_(True), t.cases), else_=0)),
            func.sum(case((t.merchant_decided.is_(True), t.cases), else_=0)),
            func.sum(case((or_(t.decided_by_tiktok.is_(True), overdue), t.cases), else_=0)),
        ).where(self._where(t, scope))
        n, tiktok, arbitration, merchant, late = self.session.execute(query).one()
        # Deadlines that passed earlier today are not in a whole-day row yet: the few cases open with a deadline
        # between midnight and now are read from the cases (by the needs-action and deadline index).
        midnight = datetime.combine(now.astimezone(UTC).date(), time(), UTC)
        today_late = select(func.count()).select_from(Case).where(
            Case.needs_action.is_(True), Case.seller_deadline >= midnight, Case.seller_deadline < now,
            Case.decided_by_tiktok.is_(False), *self._case_scope(scope))
        late_today = int(self.session.execute(today_late).scalar_one() or 0) if now > midnight else 0
        return DecidedBy(int(n or 0), int(tiktok or 0), int(arbitration or 0), int(merchant or 0),
                         int(late or 0) + late_today)

    @staticmethod
    def _case_scope(scope: AnalyticsScope) -> list[ColumnElement[bool]]:
        parts: list[ColumnElement[bool]] = []
        if scope.since is not None:
            parts.append(Case.tiktok_create_time >= scope.since)
        if scope.until is not None:
            parts.append(Case.tiktok_create_time < scope.until)
        if scope.account_ids:
            parts.append(Case.account_id.in_(scope.account_ids))
        return parts
