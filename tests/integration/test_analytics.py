"""Every analytics metric on a small hand-computed set of cases, on SQLite and PostgreSQL.

The set (period January 2027; T0 is Friday 2027-01-15 08:00 UTC, in the week of Monday 2027-01-11):
- r1 REFUND, refunded, 10.00 USD (subtotal 8.00, shipping 1.50, tax 0.50; platform-funded 2.00, seller-funded
  1.00), "Damaged", 1 × TEE; the merchant decided 30 minutes after the request.
- r2 RETURN_AND_REFUND, refunded, 20.00 USD, "Damaged", 2 × TEE, a week later; TikTok decided at the deadline.
- r3 REFUND, refunded, 1500 JPY (no decimals), "Wrong size", 1 × MUG; the merchant decided 25.5 hours later;
  in arbitration.
- r4 REFUND, pending, 5.00 USD, "Wrong size", 1 × MUG; its deadline has passed.
- c1 a buyer cancellation, 5.00 USD, "No longer needed" (its unit is not a returned unit).
- r9 outside the period (December 2026).
Units sold in January: TEE × 4, MUG × 2 (TEE × 1 more in December, outside).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, select

from returnbridge.db.engine import transaction
from returnbridge.db.migrate import alembic_config, upgrade
from returnbridge.db.models import Case, CaseLine, DailyRequests, Decision, OrderLineSold, Store, StoreEffect
from returnbridge.db.repositories.analytics import AnalyticsRepository, AnalyticsScope
from returnbridge.db.repositories.analytics_summary import SummaryAnalytics
from returnbridge.domain.statuses import CaseKind
from returnbridge.sync import analytics
from returnbridge.sync.ingest import prepare_page, store_prepared
from returnbridge.sync.runtime import Runtime

from .case_grid_data import T0, a_cancellation, a_return, account, store

JANUARY = AnalyticsScope(since=datetime(2027, 1, 1, tzinfo=UTC), until=datetime(2027, 2, 1, tzinfo=UTC))
CREATED = datetime.fromtimestamp(T0, UTC)
WEEK = 7 * 86400


@pytest.fixture
def shop(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        shop = account(session, "analytics-shop", "Analytics shop")
    done = "RETURN_OR_REFUND_REQUEST_COMPLETE"
    store(runtime.sessions, shop, [
        a_return("r1", return_type="REFUND", status=done, amount="10.00", reason="Damaged", skus=("TEE",)),
        a_return("r2", status=done, amount="20.00", reason="Damaged", skus=("TEE", "TEE"), created=T0 + WEEK),
        a_return("r3", return_type="REFUND", status=done, amount="1500", currency="JPY", reason="Wrong size",
                 skus=("MUG",), product="Stoneware Mug"),
        a_return("r4", return_type="REFUND", amount="5.00", reason="Wrong size", skus=("MUG",),
                 product="Stoneware Mug", deadline=T0 + 3600),
        a_return("r9", return_type="REFUND", status=done, amount="99.00", reason="Damaged", created=T0 - 40 * 86400),
    ], [a_cancellation("c1")])
    with transaction(runtime.sessions) as session:
        cases = {c.tiktok_id: c for c in session.scalars(select(Case))}
        r1 = cases["r1"]
        r1.refund_subtotal, r1.refund_shipping_fee, r1.refund_tax = Decimal("8.00"), Decimal("1.50"), Decimal("0.50")
        r1.product_platform_discount, r1.shipping_fee_platform_discount = Decimal("1.50"), Decimal("0.50")
        r1.product_seller_discount = Decimal("1.00")
        cases["r2"].decided_by_tiktok = True
        cases["r3"].arbitration_status = "IN_PROGRESS"
        for name, hours in (("r1", 0.5), ("r3", 25.5)):
            session.add(Decision(case_id=cases[name].id, action="approve_request", idempotency_key=f"k-{name}",
                                 actor="merchant", state="done",
                                 finished_at=CREATED + timedelta(hours=hours)))
        session.add(Decision(case_id=cases["r4"].id, action="approve_request", idempotency_key="k-r4",
                             actor="merchant", state="failed", finished_at=CREATED))
        units = [("TEE", "Organic Cotton Tee", CREATED)] * 4 + [("MUG", "Stoneware Mug", CREATED)] * 2
        units.append(("TEE", "Organic Cotton Tee", CREATED - timedelta(days=40)))
        for n, (sku, product, at) in enumerate(units):
            session.add(OrderLineSold(account_id=shop, order_id=f"O{n}", line_item_id=f"L{n}", seller_sku=sku,
                                      product_name=product, order_create_time=at, buyer_user_id="B"))
    return shop


def report(runtime: Runtime, scope: AnalyticsScope = JANUARY) -> analytics.AnalyticsReport:
    return analytics.build_report(runtime, scope, now=CREATED + timedelta(days=30))


def test_requests_by_type_and_status(runtime: Runtime, shop: int) -> None:
    rows = {(r.kind, r.type, r.status): r.cases for r in report(runtime).by_type_status}
    assert rows == {
        ("cancellation", "BUYER_CANCEL", "Requested"): 1,
        ("return", "REFUND", "Refunded"): 2,
        ("return", "REFUND", "Requested"): 1,
        ("return", "RETURN_AND_REFUND", "Refunded"): 1,
    }


def test_top_reasons_and_their_weekly_trend(runtime: Runtime, shop: int) -> None:
    result = report(runtime)
    assert result.top_reasons == [("Damaged", 2), ("Wrong size", 2), ("No longer needed", 1)]
    trend = [(w.week, w.reason, w.cases) for w in result.reason_weeks]
    assert trend == [("2027-01-11", "Damaged", 1), ("2027-01-11", "No longer needed", 1),
                     ("2027-01-11", "Wrong size", 2), ("2027-01-18", "Damaged", 1)]


def test_return_rate_is_returned_units_over_units_sold(runtime: Runtime, shop: int) -> None:
    result = report(runtime)
    by_sku = {r.key: (r.returned, r.sold, r.rate) for r in result.sku_rates}
    assert by_sku == {"TEE": (3, 4, Decimal("0.7500")), "MUG": (2, 2, Decimal("1.0000"))}
    by_product = {r.key: (r.returned, r.sold) for r in result.product_rates}
    assert by_product == {"Organic Cotton Tee": (3, 4), "Stoneware Mug": (2, 2)}


def test_refunds_per_currency_never_summed_together(runtime: Runtime, shop: int) -> None:
    refunds = {r.currency: r for r in report(runtime).refunds}
    assert set(refunds) == {"JPY", "USD"}
    usd, jpy = refunds["USD"], refunds["JPY"]
    assert (usd.month, usd.cases, usd.total, usd.subtotal, usd.shipping, usd.tax) == (
        "2027-01", 2, Decimal("30"), Decimal("28"), Decimal("1.5"), Decimal("0.5"))
    assert (usd.platform_funded, usd.seller_funded) == (Decimal("2"), Decimal("1"))
    assert (jpy.month, jpy.cases, jpy.total, jpy.subtotal) == ("2027-01", 1, Decimal("1500"), Decimal("1500"))
    _, rows = analytics.table(report(runtime), "refunds")
    assert [row[:4] for row in rows] == [["JPY", "2027-01", 1, Decimal("1500")], ["USD", "2027-01", 2, Decimal("30")]]


def test_time_from_request_to_decision(runtime: Runtime, shop: int) -> None:
    times = report(runtime).decision_times
    assert times.decided == 2
    assert times.average_hours == Decimal("13.0")
    assert times.buckets == {"< 1 h": 1, "1–24 h": 0, "24–48 h": 1, "≥ 48 h": 0}


def test_who_decided_and_missed_deadlines(runtime: Runtime, shop: int) -> None:
    decided = report(runtime).decided_by
    assert (decided.cases, decided.by_tiktok, decided.in_arbitration, decided.by_merchant) == (5, 1, 1, 2)
    assert decided.missed_deadline == 2  # r2 (TikTok decided) and r4 (still open past its deadline)
    _, rows = analytics.table(report(runtime), "decided-by")
    assert rows[0] == ["TikTok (at the deadline)", 1, Decimal("0.2000")]


def test_scope_by_account_and_store(runtime: Runtime, shop: int) -> None:
    assert report(runtime, AnalyticsScope(account_ids=(shop + 99,))).cases == 0
    assert report(runtime, AnalyticsScope(account_ids=(shop,))).cases == 6  # r9 too: no period
    with transaction(runtime.sessions) as session:
        shop_store = Store(platform="shopify", base_url="https://a.myshopify.com", credentials_encrypted="x",
                           settings={})
        session.add(shop_store)
        session.flush()
        r1 = session.scalars(select(Case).where(Case.tiktok_id == "r1")).one()
        session.add(StoreEffect(case_id=r1.id, store_id=shop_store.id, kind="refund", idempotency_key="e1"))
        store_id = shop_store.id
    scoped = report(runtime, AnalyticsScope(since=JANUARY.since, until=JANUARY.until, store_id=store_id))
    assert scoped.cases == 1
    assert [(r.currency, r.total) for r in scoped.refunds] == [("USD", Decimal("10"))]


# --- the daily summaries: the same numbers as the cases, kept right by every change -----------------------------


def _metrics(repo: Any, scope: AnalyticsScope, now: datetime) -> tuple[Any, ...]:
    reasons = repo.top_reasons(scope)
    return (repo.by_type_and_status(scope), reasons, repo.reasons_by_week(scope, [r for r, _ in reasons[:5]]),
            repo.return_rates(scope, "sku"), repo.return_rates(scope, "product"), repo.refunds(scope),
            repo.decision_times(scope), repo.decided_by(scope, now))


def assert_summary_matches_cases(runtime: Runtime, scope: AnalyticsScope, now: datetime) -> None:
    assert SummaryAnalytics.serves(scope)
    with transaction(runtime.sessions) as session:
        from_summary = _metrics(SummaryAnalytics(session), scope, now)
        from_cases = _metrics(AnalyticsRepository(session), scope, now)
    assert from_summary == from_cases


def _days(first: date, last_excluded: date) -> AnalyticsScope:
    return AnalyticsScope(since=datetime.combine(first, time(), UTC),
                          until=datetime.combine(last_excluded, time(), UTC))


@pytest.mark.parametrize("scope", [
    JANUARY, AnalyticsScope(), _days(date(2027, 1, 10), date(2027, 1, 21)),
    _days(date(2026, 12, 1), date(2027, 2, 10)), _days(date(2026, 12, 20), date(2027, 3, 1)),
], ids=["january", "all time", "within a month", "whole month then part", "part then whole months"])
def test_the_summaries_give_the_numbers_the_cases_give(runtime: Runtime, shop: int, scope: AnalyticsScope) -> None:
    assert_summary_matches_cases(runtime, scope, CREATED + timedelta(days=30))
    assert_summary_matches_cases(runtime, AnalyticsScope(since=scope.since, until=scope.until, account_ids=(shop,)),
                                 CREATED + timedelta(hours=2))


def test_the_report_for_whole_days_reads_the_summaries(runtime: Runtime, shop: int) -> None:
    with transaction(runtime.sessions) as session:
        # Emptying the request counts shows which source answered.
        session.execute(delete(DailyRequests))
    assert report(runtime).by_type_status == []
    with_time_of_day = AnalyticsScope(since=JANUARY.since + timedelta(hours=1), until=JANUARY.until)
    assert report(runtime, with_time_of_day).cases == 5


def _new_shop(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return account(session, "summary-shop", "Summary shop")


def test_refunds_are_grouped_by_the_month_the_refund_happened(runtime: Runtime) -> None:
    shop = _new_shop(runtime)
    late_january = T0 + 13 * 86400  # Thursday 2027-01-28
    store(runtime.sessions, shop, [a_return("r1", amount="40.00", created=late_january)])
    store(runtime.sessions, shop, [a_return("r1", amount="40.00", created=late_january,
                                            status="RETURN_OR_REFUND_REQUEST_COMPLETE",
                                            updated=late_january + 6 * 86400)])  # refunded on 2027-02-03
    assert report(runtime).refunds == []  # requested in January, not refunded in January
    assert report(runtime).cases == 1
    february = AnalyticsScope(since=datetime(2027, 2, 1, tzinfo=UTC), until=datetime(2027, 3, 1, tzinfo=UTC))
    assert [(r.month, r.currency, r.total) for r in report(runtime, february).refunds] == [
        ("2027-02", "USD", Decimal("40"))]
    all_time = AnalyticsScope()
    assert [r.month for r in report(runtime, all_time).refunds] == ["2027-02"]
    assert_summary_matches_cases(runtime, february, CREATED)
    assert_summary_matches_cases(runtime, all_time, CREATED)


def test_the_summaries_follow_a_case_that_changes_status_amount_and_reason(runtime: Runtime) -> None:
    shop = _new_shop(runtime)
    store(runtime.sessions, shop, [a_return("r1", amount="10.00", reason="Damaged", deadline=T0 + 86400)])
    before = report(runtime)
    assert [(r.status, r.cases) for r in before.by_type_status] == [("Requested", 1)]
    assert before.top_reasons == [("Damaged", 1)] and before.refunds == []
    assert before.decided_by.missed_deadline == 1
    store(runtime.sessions, shop, [a_return("r1", amount="12.50", reason="Wrong size", updated=T0 + 7200,
                                            status="RETURN_OR_REFUND_REQUEST_COMPLETE")])
    after = report(runtime)
    assert [(r.status, r.cases) for r in after.by_type_status] == [("Refunded", 1)]
    assert after.top_reasons == [("Wrong size", 1)]
    assert [(r.month, r.cases, r.total) for r in after.refunds] == [("2027-01", 1, Decimal("12.5"))]
    assert after.decided_by.missed_deadline == 0  # refunded before its deadline: no longer awaiting the merchant
    assert_summary_matches_cases(runtime, JANUARY, CREATED + timedelta(days=30))


def test_an_older_update_arriving_after_a_newer_one_changes_no_summary(runtime: Runtime) -> None:
    shop = _new_shop(runtime)
    done = "RETURN_OR_REFUND_REQUEST_COMPLETE"
    store(runtime.sessions, shop, [a_return("r1", amount="30.00", reason="Damaged", status=done, updated=T0 + 7200)])
    store(runtime.sessions, shop, [a_return("r1", amount="10.00", reason="Wrong size", updated=T0 + 3600)])
    result = report(runtime)
    assert [(r.status, r.cases) for r in result.by_type_status] == [("Refunded", 1)]
    assert result.top_reasons == [("Damaged", 1)]
    assert [(r.cases, r.total) for r in result.refunds] == [(1, Decimal("30"))]
    assert_summary_matches_cases(runtime, JANUARY, CREATED)


def test_a_case_leaving_refunded_leaves_the_refund_totals(runtime: Runtime) -> None:
    shop = _new_shop(runtime)
    store(runtime.sessions, shop, [a_return("r1", status="RETURN_OR_REFUND_REQUEST_COMPLETE", updated=T0 + 60)])
    assert [r.cases for r in report(runtime).refunds] == [1]
    with transaction(runtime.sessions) as session:
        session.scalars(select(Case)).one().store_status = "Pending"
    assert report(runtime).refunds == []
    assert_summary_matches_cases(runtime, JANUARY, CREATED)


def test_decisions_and_their_earliest_finish_feed_the_decision_time(runtime: Runtime) -> None:
    shop = _new_shop(runtime)
    store(runtime.sessions, shop, [a_return("r1")])
    assert report(runtime).decision_times.decided == 0
    with transaction(runtime.sessions) as session:
        case_id = session.scalars(select(Case.id)).one()
        decision = Decision(case_id=case_id, action="approve_request", idempotency_key="k1", actor="merchant",
                            state="pending")
        session.add(decision)
    assert report(runtime).decided_by.by_merchant == 0  # not done yet
    with transaction(runtime.sessions) as session:
        pending = session.scalars(select(Decision)).one()
        pending.state, pending.finished_at = "done", CREATED + timedelta(hours=30)
    times = report(runtime).decision_times
    assert (times.decided, times.average_hours, times.buckets["24–48 h"]) == (1, Decimal("30.0"), 1)
    with transaction(runtime.sessions) as session:
        session.add(Decision(case_id=case_id, action="approve_package", idempotency_key="k2", actor="merchant",
                             state="done", finished_at=CREATED + timedelta(minutes=45)))
    times = report(runtime).decision_times
    assert (times.decided, times.average_hours, times.buckets["< 1 h"]) == (1, Decimal("0.8"), 1)
    assert report(runtime).decided_by.by_merchant == 1
    assert_summary_matches_cases(runtime, JANUARY, CREATED)


def test_returned_lines_and_units_sold_keep_the_sku_summary(runtime: Runtime) -> None:
    shop = _new_shop(runtime)
    store(runtime.sessions, shop, [a_return("r1", skus=("TEE",))])
    with transaction(runtime.sessions) as session:
        session.add(OrderLineSold(account_id=shop, order_id="O1", line_item_id="L1", seller_sku="TEE",
                                  product_name="Organic Cotton Tee", order_create_time=CREATED))
    assert [(r.key, r.returned, r.sold) for r in report(runtime).sku_rates] == [("TEE", 1, 1)]
    store(runtime.sessions, shop, [a_return("r1", skus=("POLO",), updated=T0 + 60)])  # the same line, now POLO
    with transaction(runtime.sessions) as session:
        session.add(OrderLineSold(account_id=shop, order_id="O2", line_item_id="L2", seller_sku="POLO",
                                  product_name="Organic Cotton Tee", order_create_time=CREATED))
        sold = session.scalars(select(OrderLineSold).where(OrderLineSold.line_item_id == "L1")).one()
        sold.order_create_time = CREATED - timedelta(days=40)  # corrected to December
    assert [(r.key, r.returned, r.sold) for r in report(runtime).sku_rates] == [("POLO", 1, 1)]
    assert [(r.key, r.returned, r.sold) for r in report(runtime).product_rates] == [("Organic Cotton Tee", 1, 1)]
    with transaction(runtime.sessions) as session:
        session.execute(delete(CaseLine))
    assert report(runtime).sku_rates == []
    assert_summary_matches_cases(runtime, JANUARY, CREATED)
    assert_summary_matches_cases(runtime, AnalyticsScope(), CREATED)


def test_the_migration_summarises_cases_stored_before_it(runtime: Runtime, db_url: str) -> None:
    command.downgrade(alembic_config(db_url), "0010")
    try:
        with transaction(runtime.sessions) as session:
            shop = account(session, "before-shop", "Before")
        done = "RETURN_OR_REFUND_REQUEST_COMPLETE"
        page = prepare_page(shop, CaseKind.RETURN, [
            a_return("r1", status=done, amount="10.00", reason="Damaged", skus=("TEE", "MUG")),
            a_return("r2", amount="1500", currency="JPY", deadline=T0 + 60, skus=("MUG",)),
        ])
        for values in page.latest.values():
            del values.row["refunded_at"]  # the 0010 table has no such column: the rows of an older version
        with transaction(runtime.sessions) as session:
            store_prepared(session, page, source="poll")
        with transaction(runtime.sessions) as session:
            r1 = session.scalars(select(Case.id).where(Case.tiktok_id == "r1")).one()
            session.add(Decision(case_id=r1, action="approve_request", idempotency_key="k1", actor="merchant",
                                 state="done", finished_at=CREATED + timedelta(hours=2)))
            session.add(OrderLineSold(account_id=shop, order_id="O1", line_item_id="L1", seller_sku="TEE",
                                      product_name="Organic Cotton Tee", order_create_time=CREATED))
    finally:
        upgrade(db_url)
    result = report(runtime)
    assert result.cases == 2
    assert [(r.currency, r.total) for r in result.refunds] == [("USD", Decimal("10"))]
    assert (result.decision_times.decided, result.decided_by.missed_deadline) == (1, 1)
    assert {(r.key, r.returned, r.sold) for r in result.sku_rates} == {("TEE", 1, 1), ("MUG", 2, 0)}
    assert_summary_matches_cases(runtime, JANUARY, CREATED + timedelta(days=30))
