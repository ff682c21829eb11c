"""First sync of a shop: 100,000 returns from the TikTok emulator into SQLite and into PostgreSQL.

The emulator runs in its own process (zero latency, rate limit lifted). Each sync runs in a fresh child process, so
its peak RSS is its own, into a fresh database; between syncs the bare page loop of the foundation benchmark
(signed httpx fetch + json.loads of every page, nothing stored) is timed over the same pages for the ratio.
Prints JSON: returns/s (median of the runs), peak RSS, and sync / bare loop.

    python bench/first_sync.py [--returns 100000] [--runs 3] [--postgres-url postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from client_paging import bare_loop
from returnbridge.emulators.tiktok.server import EmulatorServer


def child(args: argparse.Namespace) -> None:
    """One first sync, measured from inside a fresh process."""
    from returnbridge.config import Settings
    from returnbridge.db.engine import transaction
    from returnbridge.db.migrate import upgrade
    from returnbridge.db.repositories.accounts import AccountRepository, ShopIdentity
    from returnbridge.db.repositories.cases import CaseStore
    from returnbridge.sync.ingest import pull_stream
    from returnbridge.sync.runtime import Runtime
    from returnbridge.sync.tokens import stored_tokens
    from returnbridge.tiktok import TokenSet

    upgrade(args.db_url)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        var_dir=Path(args.var_dir), database_url=args.db_url, secret_key="bench", tiktok_app_key=args.app_key,
        tiktok_app_secret=args.app_secret, tiktok_api_base=args.base_url, tiktok_auth_base=args.base_url,
        tiktok_rate_per_second=1_000_000, sync_backfill_days=3650,
    )
    runtime = Runtime.from_settings(settings)
    tokens = TokenSet.model_validate_json(args.tokens)
    with transaction(runtime.sessions) as session:
        account_id = AccountRepository(session, runtime.box).connect(
            ShopIdentity(shop_id=args.shop_id, shop_cipher=args.cipher), stored_tokens(tokens)
        ).id
    started, cpu_started = time.perf_counter(), time.process_time()
    pull_stream(runtime, account_id, "returns")
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    with transaction(runtime.sessions) as session:
        stored = CaseStore(session).count(account_id)  # distinct returns held (a re-read one counts once)
    runtime.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"stored": stored, "seconds": seconds, "cpu_seconds": cpu_seconds,
                      "peak_rss_mb": peak_kb / 1024}))


def run_child(emulator: EmulatorServer, shop: dict, tokens: str, db_url: str, var_dir: str) -> dict:
    command = [
        sys.executable, __file__, "--child", "--db-url", db_url, "--var-dir", var_dir, "--base-url",
        emulator.base_url, "--app-key", emulator.app_key, "--app-secret", emulator.app_secret, "--shop-id", shop["id"],
        "--cipher", shop["cipher"], "--tokens", tokens,
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def fresh_postgres(admin_url: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from returnbridge.db.engine import normalise_url

    name = f"rb_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(normalise_url(admin_url)).set(database=name).render_as_string(hide_password=False), name


def drop_postgres(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    from returnbridge.db.engine import normalise_url

    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--returns", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres-url", default=os.environ.get("RETURNBRIDGE_TEST_POSTGRES_URL", ""))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for name in ("db-url", "var-dir", "base-url", "app-key", "app-secret", "shop-id", "cipher", "tokens"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    figures: dict[str, list[dict]] = {"sqlite": [], "postgresql": []}
    bare_rates: list[float] = []
    with EmulatorServer(subprocess=True, rps=1_000_000, seed_returns=0) as emulator:
        control = httpx.Client(base_url=f"{emulator.base_url}/_emulator", timeout=600)
        shop = control.get("/shops").json()["shops"][0]
        control.post("/seed", json={"shop_id": shop["id"], "returns": args.returns})
        token_data = control.post("/auth/token", json={"shop_id": shop["id"]}).json()
        tokens = json.dumps(token_data)
        access = token_data["access_token"]
        # Warm-up: the emulator renders each record's JSON on its first read.
        bare_loop(emulator.base_url, emulator.app_key, emulator.app_secret, shop["cipher"], access)
        for _ in range(args.runs):
            total, seconds = bare_loop(emulator.base_url, emulator.app_key, emulator.app_secret, shop["cipher"], access)
            bare_rates.append(total / seconds)
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{tmp}/bench.sqlite3"
                figures["sqlite"].append(run_child(emulator, shop, tokens, url, tmp))
            if args.postgres_url:
                url, name = fresh_postgres(args.postgres_url)
                try:
                    with tempfile.TemporaryDirectory() as tmp:
                        figures["postgresql"].append(run_child(emulator, shop, tokens, url, tmp))
                finally:
                    drop_postgres(args.postgres_url, name)
    bare = statistics.median(bare_rates)
    report: dict[str, object] = {
        "benchmark": "first_sync",
        "returns": args.returns,
        "runs": args.runs,
        "bare_loop_returns_per_s_median": round(bare),
        "target": {"sqlite_returns_per_s": 5000, "peak_rss_mb": 300, "ratio_to_bare": 0.60},
    }
    for database, runs in figures.items():
        if not runs:
            continue
        assert all(r["stored"] == args.returns for r in runs), runs
        rates = [r["stored"] / r["seconds"] for r in runs]
        report[database] = {
            "returns_per_s_median": round(statistics.median(rates)),
            "ratio_to_bare": round(statistics.median(rates) / bare, 3),
            "peak_rss_mb_max": round(max(r["peak_rss_mb"] for r in runs), 1),
            "runs_returns_per_s": [round(r) for r in rates],
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
