"""`returnbridge sync`: the foreground pull, including a process killed mid-sync and started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, Lease
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.locks import lease, shop_lease_name
from returnbridge.sync.runtime import Runtime

from .conftest import Control, connect_shop


def fresh_shop(control: Control, returns: int) -> dict[str, Any]:
    seller = control("GET", "/sellers")["sellers"][0]
    shop = control(
        "POST", "/shops", {"region": "US", "currency": "USD", "name": "CLI shop", "seller_id": seller["id"]}
    )
    control("POST", "/seed", {"shop_id": shop["id"], "returns": returns})
    return shop


def cli_env(runtime: Runtime) -> dict[str, str]:
    s = runtime.settings
    env = {key: value for key, value in os.environ.items() if not key.startswith("RETURNBRIDGE_")}
    env.update({
        "RETURNBRIDGE_DATABASE_URL": s.database_url, "RETURNBRIDGE_SECRET_KEY": s.secret_key or "",
        "RETURNBRIDGE_VAR_DIR": str(s.var_dir), "RETURNBRIDGE_TIKTOK_APP_KEY": s.tiktok_app_key,
        "RETURNBRIDGE_TIKTOK_APP_SECRET": s.tiktok_app_secret, "RETURNBRIDGE_TIKTOK_API_BASE": s.tiktok_api_base,
        "RETURNBRIDGE_TIKTOK_AUTH_BASE": s.tiktok_auth_base, "RETURNBRIDGE_TIKTOK_RATE_PER_SECOND": "1000",
    })
    return env


def run_sync(runtime: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "returnbridge.cli", "sync", *args], env=cli_env(runtime), capture_output=True,
        text=True, timeout=120,
    )


def cases(runtime: Runtime, account_id: int) -> tuple[int, int]:
    with transaction(runtime.sessions) as session:
        total = session.scalar(select(func.count()).select_from(Case).where(Case.account_id == account_id))
        distinct = session.scalar(
            select(func.count(func.distinct(Case.tiktok_id))).where(Case.account_id == account_id)
        )
    return int(total or 0), int(distinct or 0)


def test_sync_command_pulls_the_shop_and_prints_a_summary(runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=80)
    account_id = connect_shop(runtime, control, shop)
    done = run_sync(runtime, "--account", str(account_id))
    assert done.returncode == 0, done.stderr
    assert "returns" in done.stdout and "80" in done.stdout
    assert cases(runtime, account_id) == (80, 80)


def test_sync_command_refuses_an_unknown_account_without_a_traceback(runtime: Runtime) -> None:
    done = run_sync(runtime, "--account", "nope")
    assert done.returncode == 1
    assert "no TikTok account 'nope'" in done.stderr and "Traceback" not in done.stderr


def test_sync_command_says_so_when_a_worker_holds_the_shop(runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=5)
    account_id = connect_shop(runtime, control, shop)
    with lease(runtime, shop_lease_name(account_id)):
        done = run_sync(runtime, "--account", str(account_id))
    assert done.returncode == 1 and "a worker is pulling this shop" in done.stderr


def test_sync_killed_mid_way_and_started_again_stores_every_return_once(
    runtime: Runtime, emulator: EmulatorServer, control: Control
) -> None:
    shop = fresh_shop(control, returns=3000)
    account_id = connect_shop(runtime, control, shop)
    process = subprocess.Popen(
        [sys.executable, "-m", "returnbridge.cli", "sync", "--account", str(account_id)], env=cli_env(runtime),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while cases(runtime, account_id)[0] < 400:  # part-way through the history
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = cases(runtime, account_id)
    assert killed_at[0] < 3000
    # The killed run's lease stays until it lapses; a new run after that resumes from the committed cursor.
    assert run_sync(runtime, "--account", str(account_id)).returncode == 1  # the dead run's lease still holds
    with transaction(runtime.sessions) as session:  # as if its two minutes had passed
        session.execute(update(Lease).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    done = run_sync(runtime, "--account", str(account_id))
    assert done.returncode == 0, done.stderr
    assert cases(runtime, account_id) == (3000, 3000)
