"""How fast a change on TikTok reaches our database through a webhook: end to end, with the real processes.

`returnbridge serve` (web + job consumer, SQLite database, SQLite queue) and the TikTok emulator (own process) run
side by side; the emulator's webhooks point at our receiver. Each round, a buyer opens a request on the emulator
(or withdraws one) and we time until the case (or its new status) is visible in the database: emulator → signed
webhook → receiver → inbox → job → Search Returns → upsert. Prints JSON with p50/p95/max over the rounds.

    python bench/webhook_to_case.py [--rounds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from returnbridge.db.engine import make_engine, make_session_factory, transaction
from returnbridge.db.migrate import upgrade
from returnbridge.db.models import Case
from returnbridge.db.repositories.accounts import AccountRepository, ShopIdentity
from returnbridge.db.secretbox import SecretBox
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.tokens import stored_tokens
from returnbridge.tiktok import TokenSet

SECRET = "bench-secret-key"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check, timeout: float, step: float = 0.002) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("not visible in time")
        time.sleep(step)
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(
        app_key="bench_key", app_secret="bench_secret", seed_returns=40, rps=0, subprocess=True,
        webhook_url=f"http://127.0.0.1:{port}/webhooks/tiktok",
    ) as emulator:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        upgrade(url)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        control = httpx.Client(base_url=f"{emulator.base_url}/_emulator", timeout=30)
        shop = next(s for s in control.get("/shops").json()["shops"] if s["region"] == "US")
        tokens = TokenSet.model_validate(control.post("/auth/token", json={"shop_id": shop["id"]}).json())
        with transaction(sessions) as session:
            AccountRepository(session, SecretBox(SECRET)).connect(
                ShopIdentity(shop_id=shop["id"], shop_cipher=shop["cipher"]), stored_tokens(tokens)
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith("RETURNBRIDGE_")}
        env.update({
            "RETURNBRIDGE_DATABASE_URL": url, "RETURNBRIDGE_VAR_DIR": tmp, "RETURNBRIDGE_SECRET_KEY": SECRET,
            "RETURNBRIDGE_TIKTOK_APP_KEY": "bench_key", "RETURNBRIDGE_TIKTOK_APP_SECRET": "bench_secret",
            "RETURNBRIDGE_TIKTOK_API_BASE": emulator.base_url, "RETURNBRIDGE_TIKTOK_AUTH_BASE": emulator.base_url,
        })
        log = (Path(tmp) / "serve.log").open("w")
        serve = subprocess.Popen(
            [sys.executable, "-m", "returnbridge.cli", "serve", "--port", str(port)], env=env, stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: _up(port), 30, 0.05)

            def case_status(return_id: str) -> str | None:
                with transaction(sessions) as session:
                    return session.scalar(select(Case.tiktok_status).where(Case.tiktok_id == return_id))

            created, changed = [], []
            for _ in range(args.rounds):
                opened = control.post("/returns", json={"shop_id": shop["id"], "return_type": "REFUND"}).json()
                rid = opened["return_id"]
                created.append(wait_for(lambda rid=rid: case_status(rid) is not None, 10))
                control.post(f"/requests/{rid}/withdraw", json={})
                changed.append(
                    wait_for(lambda rid=rid: case_status(rid) == "RETURN_OR_REFUND_REQUEST_CANCEL", 10)
                )
        finally:
            serve.terminate()
            serve.wait(timeout=20)
            log.close()
            engine.dispose()
    every = created + changed
    print(json.dumps({
        "benchmark": "webhook_to_case",
        "rounds": args.rounds,
        "queue": "SqliteHuey",
        "database": "sqlite",
        "new_request_visible_s": {"p50": round(statistics.median(created), 3),
                                  "p95": round(percentile(created, .95), 3)},
        "status_change_visible_s": {"p50": round(statistics.median(changed), 3),
                                    "p95": round(percentile(changed, .95), 3)},
        "all_p95_s": round(percentile(every, .95), 3),
        "all_max_s": round(max(every), 3),
        "target_p95_s": 2.0,
    }, indent=2))


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
