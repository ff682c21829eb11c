"""`returnbridge sync`: the foreground pull, including a process killed mid-sync and started again."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, Lease
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.locks import lease, shop_lease_name
from returnbridge.sync.runtime import Runtime

from .conftest import Control, connect_shop, fresh_shop, process_env


def run_sync(runtime: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "returnbridge.cli", "sync", *args], env=process_env(runtime), capture_output=True,
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
    # TikTok's own pace (a page every 20 ms), so the pull commits page by page as they come; without it the writer
    # falls behind and commits the queued history in a few large transactions.
    control("POST", "/config", {"latency_ms": 20})
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "returnbridge.cli", "sync", "--account", str(account_id)],
            env=process_env(runtime), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while cases(runtime, account_id)[0] < 400:  # part-way through the history
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        control("POST", "/config", {"latency_ms": 0})
    killed_at = cases(runtime, account_id)
    assert killed_at[0] < 3000
    # The killed run's lease stays until it lapses; a new run after that resumes from the committed cursor.
    assert run_sync(runtime, "--account", str(account_id)).returncode == 1  # the dead run's lease still holds
    with transaction(runtime.sessions) as session:  # as if its two minutes had passed
        session.execute(update(Lease).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    done = run_sync(runtime, "--account", str(account_id))
    assert done.returncode == 0, done.stderr
    assert cases(runtime, account_id) == (3000, 3000)
