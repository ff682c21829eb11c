"""Returns grid speed: a page plus its tab counts, for typical views over 100,000 cases, on SQLite and PostgreSQL.

Seeds 100,000 TikTok-shaped returns (mapped by ``sync.mapping`` like the real sync, then bulk-inserted) into a fresh
migrated database per dialect, runs every view 30 times (page + tab counts, what one grid request costs), and prints
JSON with p50/p95 in milliseconds per view and dialect, plus CSV and XLSX export throughput (rows/s).
PostgreSQL is measured when RETURNBRIDGE_TEST_POSTGRES_URL is set.
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
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from returnbridge.db.engine import make_engine, make_session_factory, normalise_url
from returnbridge.db.migrate import upgrade
from returnbridge.db.models import Case, CaseLine, TikTokAccount, utcnow
from returnbridge.db.repositories.case_list import CaseList
from returnbridge.domain.case_view import CaseView, Cursor
from returnbridge.domain.statuses import CaseKind
from returnbridge.sync.case_views import export_cases
from returnbridge.sync.mapping import case_values

STATUSES = [
    "RETURN_OR_REFUND_REQUEST_PENDING", "AWAITING_BUYER_SHIP", "BUYER_SHIPPED_ITEM",
    "RETURN_OR_REFUND_REQUEST_SUCCESS", "RETURN_OR_REFUND_REQUEST_COMPLETE", "RETURN_OR_REFUND_REQUEST_CANCEL",
    "REFUND_OR_RETURN_REQUEST_REJECT", "REJECT_RECEIVE_PACKAGE",
]
WEIGHTS = [6, 6, 4, 4, 50, 15, 10, 5]
REASONS = ["Wrong size", "Damaged", "Not as described", "Changed mind", "Missing parts", "Arrived late"]
T0 = 1_780_000_000
VIEWS: dict[str, dict[str, str]] = {
    "default": {},
    "needs_action": {"tab": "needs_action"},
    "filter_status": {"status": "Requested"},
    "search_sku": {"q": "SKU-00042"},
    "sort_amount_desc": {"sort": "refund_amount", "dir": "desc"},
}


def record(i: int, rng: random.Random) -> dict[str, Any]:
    status = rng.choices(STATUSES, WEIGHTS)[0]
    created = T0 + rng.randrange(365 * 86_400)
    sku = f"SKU-{rng.randrange(2000):05d}"
    item: dict[str, Any] = {
        "return_id": f"{4_000_000_000 + i}", "order_id": f"57{rng.randrange(10**12):012d}",
        "return_type": rng.choice(["RETURN_AND_REFUND", "REFUND", "REPLACEMENT"]), "return_status": status,
        "return_reason": rng.choice(REASONS), "create_time": created, "update_time": created + rng.randrange(86_400),
        "refund_amount": {"currency": "USD" if i % 10 else "GBP",
                          "refund_total": f"{rng.randrange(1, 300)}.{rng.randrange(100):02d}"},
        "return_line_items": [{"return_line_item_id": f"{i}1", "seller_sku": sku,
                               "product_name": f"Product {sku} in blue"}],
    }
    if status in (STATUSES[0], STATUSES[2]):
        item["seller_next_action_response"] = [{"action": "SELLER_RESPOND", "deadline": created + 172_800}]
    return item


def seed(url: str, count: int) -> None:
    engine = make_engine(url)
    rng = random.Random(7)
    with engine.begin() as connection:
        accounts = []
        for n in range(4):
            accounts.append(connection.execute(TikTokAccount.__table__.insert().returning(TikTokAccount.id), {
                "shop_id": f"shop{n}", "shop_cipher": f"C{n}", "shop_name": f"Shop {n}", "shop_code": "",
                "region": "US", "seller_type": "", "seller_name": "", "open_id": "", "access_token_encrypted": "x",
                "refresh_token_encrypted": "y", "access_token_expires_at": utcnow(),
                "refresh_token_expires_at": utcnow(), "granted_scopes": [], "status": "active", "status_reason": "",
                "created_at": utcnow(), "updated_at": utcnow(),
            }).scalar_one())
    batch = 5000
    next_id = 1
    for start in range(0, count, batch):
        cases, lines = [], []
        for i in range(start, min(start + batch, count)):
            values = case_values(CaseKind.RETURN, accounts[i % 4], record(i, rng))
            row = {**values.row, "id": next_id, "records_due": False, "records_synced_at": None,
                   "created_at": utcnow(), "updated_at": utcnow()}
            cases.append(row)
            lines += [{**line, "case_id": next_id} for line in values.lines]
            next_id += 1
        with engine.begin() as connection:
            connection.execute(Case.__table__.insert(), cases)
            connection.execute(CaseLine.__table__.insert(), lines)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))"))
        connection.execute(text("ANALYZE"))
    engine.dispose()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 2)


def measure(url: str, runs: int) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    results: dict[str, Any] = {}

    def timed(view: CaseView) -> float:
        started = time.perf_counter()
        with sessions() as session:
            cases = CaseList(session)
            cases.page(view)
            cases.tab_counts(view)
            session.rollback()
        return (time.perf_counter() - started) * 1000

    deep = CaseView.from_query({})
    with sessions() as session:
        for _ in range(49):
            page = CaseList(session).page(deep)
            deep = deep.with_cursor(Cursor.decode(page.next_cursor or ""))
    views = {name: CaseView.from_query(q) for name, q in VIEWS.items()} | {"page_50_by_cursor": deep}
    for name, view in views.items():
        timed(view)  # warm the caches once, as a running server has them
        samples = [timed(view) for _ in range(runs)]
        results[name] = {"p50_ms": percentile(samples, 0.5), "p95_ms": percentile(samples, 0.95),
                         "mean_ms": round(statistics.fmean(samples), 2)}
    runtime = type("R", (), {"sessions": sessions})()
    for fmt in ("csv", "xlsx"):
        started = time.perf_counter()
        size = sum(len(chunk) for chunk in export_cases(runtime, {}, fmt).chunks)  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        with sessions() as session:
            rows = CaseList(session).tab_counts(CaseView())[0].count
        results[f"export_{fmt}"] = {"rows_per_s": round(rows / seconds), "seconds": round(seconds, 2),
                                    "megabytes": round(size / 1e6, 1)}
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    out: dict[str, Any] = {"cases": args.cases, "runs": args.runs, "dialects": {}}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        upgrade(url)
        started = time.perf_counter()
        seed(url, args.cases)
        out["dialects"]["sqlite"] = {"seed_s": round(time.perf_counter() - started, 1), **measure(url, args.runs)}
    pg = os.environ.get("RETURNBRIDGE_TEST_POSTGRES_URL", "")
    if pg:
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
