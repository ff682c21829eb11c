"""Returns grid speed: a page plus its tab counts, for every tab and typical views, on SQLite and PostgreSQL.

Seeds ``--cases`` TikTok-shaped returns (default 100,000; the issue's target is measured with 1,000,000), mapped by
``sync.mapping`` like the real sync, then bulk-inserted (the tab counters' triggers run as in production), into a
fresh migrated database per dialect. Each view is run ``--runs`` times as one grid request costs it (page + tab
counts + the account selector) and reported as p50/p95 in milliseconds. Then the whole table is exported to CSV in a
child process (its own peak RSS), and to XLSX when ``--xlsx`` is given. Targets (issue 6): first page of any tab with
its counts <= 50 ms p95, search by order id <= 10 ms, CSV of 1,000,000 rows <= 20 s under 200 MB.
PostgreSQL is measured when RETURNBRIDGE_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
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
from returnbridge.domain.statuses import CaseKind, Tab
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
    **{f"tab_{tab.value}": {"tab": tab.value} for tab in Tab},
    "one_account": {"account": "2"},
    "filter_status": {"status": "Requested"},
    "search_sku": {"q": "SKU-00042"},
    "search_text": {"q": "blue"},
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


def measure(url: str, runs: int, xlsx: bool, grid: bool = True, export: bool = True,
            only: set[str] | None = None) -> dict[str, Any]:
    results: dict[str, Any] = measure_grid(url, runs, only) if grid else {}
    for fmt in (("csv", "xlsx") if xlsx else ("csv",)) if export else ():
        # A child process, so the peak RSS is the export's own and not the seeding's.
        done = subprocess.run([sys.executable, __file__, "--export-child", url, "--format", fmt],
                              check=True, capture_output=True, text=True)
        results[f"export_{fmt}"] = json.loads(done.stdout)
    return results


def measure_grid(url: str, runs: int, only: set[str] | None = None) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    results: dict[str, Any] = {}

    def timed(view: CaseView) -> float:
        started = time.perf_counter()
        with sessions() as session:
            cases = CaseList(session)
            cases.page(view)
            cases.tab_counts(view)
            cases.accounts_overview()
            session.rollback()
        return (time.perf_counter() - started) * 1000

    with sessions() as session:
        middle = session.execute(text("SELECT order_id, tiktok_id FROM cases WHERE id = :id"),
                                 {"id": max(1, _count(session) // 2)}).one()
        session.rollback()

    deep = CaseView.from_query({})
    with sessions() as session:
        for _ in range(49):
            page = CaseList(session).page(deep)
            deep = deep.with_cursor(Cursor.decode(page.next_cursor or ""))
    views = {name: CaseView.from_query(q) for name, q in VIEWS.items()} | {
        "page_50_by_cursor": deep,
        "search_order_id": CaseView.from_query({"q": middle.order_id}),
        "search_return_id": CaseView.from_query({"q": middle.tiktok_id}),
    }
    for name, view in views.items():
        if only and name not in only:
            continue
        timed(view)  # warm the caches once, as a running server has them
        samples = [timed(view) for _ in range(runs)]
        results[name] = {"p50_ms": percentile(samples, 0.5), "p95_ms": percentile(samples, 0.95),
                         "mean_ms": round(statistics.fmean(samples), 2)}
    engine.dispose()
    return results


def _count(session: Any) -> int:
    return int(session.execute(text("SELECT max(id) FROM cases")).scalar_one() or 0)


def peak_rss_mb() -> float:
    """This process's high-water resident set (VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def export_child(url: str, fmt: str) -> None:
    engine = make_engine(url)
    runtime = type("R", (), {"sessions": make_session_factory(engine)})()
    rss_before = peak_rss_mb()  # the interpreter and its imports, before any row
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    size = rows = 0
    for chunk in export_cases(runtime, {}, fmt).chunks:  # type: ignore[arg-type]
        size += len(chunk)
        if fmt == "csv":
            rows += chunk.count(b"\r\n")  # a quoted cell may hold a bare newline; rows end in CRLF
    seconds = time.perf_counter() - started
    used = resource.getrusage(resource.RUSAGE_SELF)
    # CPU seconds of this process (not the PostgreSQL server's): on a shared machine the wall time can be many
    # times this, and this is what the export costs when it has a core to itself.
    cpu_s = used.ru_utime - cpu.ru_utime + used.ru_stime - cpu.ru_stime
    engine.dispose()
    rows = max(rows - 1, 0) if fmt == "csv" else 0
    print(json.dumps({"rows": rows if fmt == "csv" else None, "seconds": round(seconds, 2),
                      "process_cpu_s": round(cpu_s, 2), "rows_per_s": round(rows / seconds) if rows else None,
                      "megabytes": round(size / 1e6, 1),
                      "peak_rss_mb": peak_rss_mb(), "rss_before_export_mb": rss_before}))


def prepare_and_measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Migrate and seed ``url`` unless it already holds cases (a kept database is reused), then measure it."""
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        present = int(connection.execute(text("SELECT count(*) FROM cases")).scalar_one())
    engine.dispose()
    started = time.perf_counter()
    if present == 0:
        seed(url, args.cases)
    elif present != args.cases:
        print(f"note: reusing {present} cases, not {args.cases}", file=sys.stderr)
    result: dict[str, Any] = {"cases": present or args.cases, "seed_s": round(time.perf_counter() - started, 1)}
    if args.seed_only:
        return result
    return result | measure(url, args.runs, args.xlsx, grid=not args.no_grid, export=not args.no_export,
                             only=set(args.views.split(",")) if args.views else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--xlsx", action="store_true", help="also time an XLSX export")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--sqlite-file", help="keep the SQLite database in this file; seeded only when it has no cases")
    parser.add_argument("--postgres-database", help="keep the PostgreSQL database of this name (on the server of "
                        "RETURNBRIDGE_TEST_POSTGRES_URL); seeded only when it has no cases, never dropped")
    parser.add_argument("--seed-only", action="store_true", help="seed (or reuse) the databases and measure nothing")
    parser.add_argument("--no-grid", action="store_true", help="measure the export only")
    parser.add_argument("--no-export", action="store_true", help="measure the grid only")
    parser.add_argument("--views", help="comma-separated names of the grid views to measure (default: all)")
    parser.add_argument("--export-child", help=argparse.SUPPRESS)
    parser.add_argument("--format", default="csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        export_child(args.export_child, args.format)
        return
    out: dict[str, Any] = {"cases": args.cases, "runs": args.runs, "dialects": {}}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            url = f"sqlite:///{args.sqlite_file or tmp + '/bench.sqlite3'}"
            out["dialects"]["sqlite"] = prepare_and_measure(url, args)
            print(json.dumps(out["dialects"]["sqlite"]), file=sys.stderr, flush=True)
    pg = "" if args.skip_postgres else os.environ.get("RETURNBRIDGE_TEST_POSTGRES_URL", "")
    if pg:
        admin_url = normalise_url(pg)
        name = args.postgres_database or f"rb_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            known = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if known is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        try:
            out["dialects"]["postgresql"] = prepare_and_measure(url, args)
        finally:
            if not args.postgres_database:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
