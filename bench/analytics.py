"""Analytics and rule dry-run speed over 1,000,000 cases, on SQLite and PostgreSQL.

Targets (issue 7): the whole analytics report (every metric, over all cases) in ≤ 1 s, and a dry run of a rule
over all cases in ≤ 5 s. Seeds a fresh migrated database per dialect straight through the driver (executemany on
SQLite, COPY on PostgreSQL; the ORM would take minutes): N cases in 3 currencies (JPY among them) over a year, one
returned line each, N units sold, and a done decision for one case in ten. The seed goes through the database's
triggers like any other write, so it fills the daily analytics summaries (migration 0012) that the report reads; its
time includes keeping them. Each measurement runs once warm-up and then ``--runs`` times; prints JSON (best and
median seconds). PostgreSQL is measured when RETURNBRIDGE_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from returnbridge.db.engine import make_engine, make_session_factory, normalise_url
from returnbridge.db.migrate import upgrade
from returnbridge.db.models import Case, CaseLine, Decision, OrderLineSold, TikTokAccount, utcnow
from returnbridge.db.repositories.analytics import AnalyticsScope
from returnbridge.sync.analytics import build_report
from returnbridge.sync.rules import dry_run

START = datetime(2026, 1, 1, tzinfo=UTC)
TYPES = ["REFUND", "RETURN_AND_REFUND", "REPLACEMENT"]
STATUSES = [("RETURN_OR_REFUND_REQUEST_PENDING", "Requested", "request_pending", True),
            ("RETURN_OR_REFUND_REQUEST_COMPLETE", "Refunded", "request_completed", False),
            ("AWAITING_BUYER_SHIP", "Pending", "awaiting_buyer_ship", False),
            ("REFUND_OR_RETURN_REQUEST_REJECT", "Rejected", "request_rejected", False)]
STATUS_WEIGHTS = [10, 60, 15, 15]
REASONS = ["Wrong size", "Damaged", "Not as described", "Changed mind", "Missing parts", "Arrived late"]
CURRENCIES = [("USD", 100), ("GBP", 100), ("JPY", 1)]  # (code, units per major unit as stored in the seed)
RULE = {"name": "bench", "conditions": {"types": ["REFUND"], "reasons": ["Damaged", "Wrong size"],
                                        "amount": {"currency": "USD", "min": "5", "max": "150"}},
        "action": {"kind": "partial_refund", "percent": "25"}}


def _case_rows(count: int, account_ids: list[int]) -> Iterator[dict[str, Any]]:
    rng = random.Random(7)
    for i in range(1, count + 1):
        status, store_status, tab, pending = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
        currency, unit = CURRENCIES[0] if i % 10 < 7 else CURRENCIES[1] if i % 10 < 9 else CURRENCIES[2]
        created = START + timedelta(seconds=rng.randrange(365 * 86_400))
        major = rng.randrange(1, 300) if unit == 100 else rng.randrange(100, 30_000)
        total = major * 1_000_000 + (rng.randrange(100) * 10_000 if unit == 100 else 0)
        yield {
            "id": i, "account_id": account_ids[i % len(account_ids)], "kind": "return",
            "tiktok_id": f"{4_000_000_000 + i}", "order_id": f"57{i:012d}", "type": rng.choice(TYPES),
            "tiktok_status": status, "store_status": store_status, "status_known": True,
            "arbitration_status": "IN_PROGRESS" if i % 97 == 0 else "",
            "initiator_role": "BUYER", "reason_name": rng.choice(REASONS), "reason_text": "", "currency": currency,
            "refund_total": total, "refund_subtotal": total, "refund_shipping_fee": 0, "refund_tax": 0,
            "product_platform_discount": 1_000_000 if i % 5 == 0 else 0, "product_seller_discount": 0,
            "shipping_fee_platform_discount": 0, "shipping_fee_seller_discount": 0,
            "needs_action": pending, "seller_action": "", "seller_deadline": created + timedelta(days=2),
            "decided_by_tiktok": i % 13 == 0, "tiktok_create_time": created, "tiktok_update_time": created,
            "records_due": False, "tab": tab, "search_text": "", "raw": "{}", "created_at": created,
            "updated_at": created,
        }


def _columns(table: Any) -> list[str]:
    return [c.name for c in table.columns]


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, bool):
        return int(value)
    return value


def _writer(engine: Any) -> Callable[[Any, list[str], Iterator[dict[str, Any]]], None]:
    """Rows into one table by the fastest path of the dialect (values already in storage form: money as micros)."""

    def sqlite_write(table: Any, columns: list[str], rows: Iterator[dict[str, Any]]) -> None:
        sql = f'INSERT INTO {table.name} ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            # The engine puts sqlite3 in autocommit (SQLAlchemy drives transactions): without this BEGIN every
            # row would be a transaction of its own.
            cursor.execute("BEGIN")
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(tuple(_sqlite_value(row.get(c)) for c in columns))
                if len(batch) >= 50_000:
                    cursor.executemany(sql, batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
            raw.commit()
        finally:
            raw.close()

    def postgres_write(table: Any, columns: list[str], rows: Iterator[dict[str, Any]]) -> None:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(f'COPY {table.name} ({", ".join(columns)}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row([row.get(c) for c in columns])
            raw.commit()
        finally:
            raw.close()

    return postgres_write if engine.dialect.name == "postgresql" else sqlite_write


def seed(url: str, count: int) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        accounts = [connection.execute(TikTokAccount.__table__.insert().returning(TikTokAccount.id), {
            "shop_id": f"shop{n}", "shop_cipher": f"C{n}", "shop_name": f"Shop {n}", "shop_code": "",
            "region": "US", "seller_type": "", "seller_name": "", "open_id": "", "access_token_encrypted": "x",
            "refresh_token_encrypted": "y", "access_token_expires_at": utcnow(),
            "refresh_token_expires_at": utcnow(), "granted_scopes": "[]", "status": "active", "status_reason": "",
            "created_at": utcnow(), "updated_at": utcnow(),
        }).scalar_one() for n in range(4)]
    write = _writer(engine)
    case_columns = _columns(Case.__table__)
    write(Case.__table__, case_columns, _case_rows(count, accounts))
    skus = [f"SKU-{n:05d}" for n in range(2000)]
    write(CaseLine.__table__, _columns(CaseLine.__table__), (
        {"id": i, "case_id": i, "tiktok_line_id": f"{i}1", "order_line_item_id": f"{i}1", "sku_id": "",
         "seller_sku": skus[i % 2000], "product_name": f"Product {i % 400}", "sku_name": "", "image_url": "",
         "currency": "USD", "refund_total": None, "refund_subtotal": None, "refund_shipping_fee": None,
         "refund_tax": None} for i in range(1, count + 1)))
    write(OrderLineSold.__table__, _columns(OrderLineSold.__table__), (
        {"id": i, "account_id": accounts[i % 4], "order_id": f"57{i:012d}", "line_item_id": f"{i}1",
         "buyer_user_id": f"B{i % 50_000}", "order_status": "DELIVERED", "seller_sku": skus[i % 2000],
         "product_id": "", "product_name": f"Product {i % 400}",
         "order_create_time": START + timedelta(seconds=(i * 31) % (365 * 86_400)),
         "order_update_time": START} for i in range(1, count + 1)))
    write(Decision.__table__, _columns(Decision.__table__), (
        {"id": i // 10, "case_id": i, "action": "approve_request", "params": "{}", "idempotency_key": f"k{i}",
         "actor": "merchant", "actor_name": "", "state": "done", "attempts": 1, "result": "", "error_code": None,
         "created_at": START, "sent_at": START,
         "finished_at": START + timedelta(seconds=(i * 7919) % (365 * 86_400))} for i in range(10, count + 1, 10)))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            for table in ("cases", "case_lines", "order_lines_sold", "decisions"):
                connection.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
        connection.execute(text("ANALYZE"))
    engine.dispose()


def timed(work: Callable[[], Any], runs: int) -> tuple[dict[str, float], Any]:
    result = work()  # warm the caches once, as a running server has them
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        samples.append(time.perf_counter() - started)
    return {"best_s": round(min(samples), 3), "median_s": round(statistics.median(samples), 3)}, result


def measure(url: str, runs: int) -> dict[str, Any]:
    engine = make_engine(url)
    runtime: Any = type("R", (), {"sessions": make_session_factory(engine)})()
    scope = AnalyticsScope(since=START, until=START + timedelta(days=366))
    now = START + timedelta(days=400)
    report_time, report = timed(lambda: build_report(runtime, scope, now=now), runs)
    dry_time, dry = timed(lambda: dry_run(runtime, RULE), runs)
    engine.dispose()
    return {
        "analytics_report": {**report_time, "target_s": 1.0, "cases": report.cases},
        "rule_dry_run": {**dry_time, "target_s": 5.0, "matched": dry.matched,
                         "totals": {t.currency: {"cases": t.cases, "refund_total": str(t.refund_total),
                                                 "offered_total": str(t.offered_total)} for t in dry.totals}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dialect", choices=["both", "sqlite", "postgresql"], default="both")
    args = parser.parse_args()
    out: dict[str, Any] = {"cases": args.cases, "runs": args.runs, "dialects": {}}
    if args.dialect in ("both", "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.sqlite3"
            upgrade(url)
            started = time.perf_counter()
            seed(url, args.cases)
            out["dialects"]["sqlite"] = {"seed_s": round(time.perf_counter() - started, 1),
                                         **measure(url, args.runs)}
    pg = os.environ.get("RETURNBRIDGE_TEST_POSTGRES_URL", "")
    if pg and args.dialect in ("both", "postgresql"):
        admin_url = normalise_url(pg)
        name = f"rb_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        try:
            upgrade(url)
            started = time.perf_counter()
            seed(url, args.cases)
            out["dialects"]["postgresql"] = {"seed_s": round(time.perf_counter() - started, 1),
                                             **measure(url, args.runs)}
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
