"""Scale-out: three `returnbridge worker` processes on one Redis queue and one PostgreSQL database sync 20 shops from
an emulator answering every call after 100 ms. Every case must be stored once, with one first-seen event."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from returnbridge.db.engine import make_engine, transaction
from returnbridge.db.models import Case, SyncState, TimelineEvent
from returnbridge.db.repositories.accounts import AccountRepository, ShopIdentity
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.jobs import Jobs
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.tokens import stored_tokens
from returnbridge.tiktok import TokenSet

from ..conftest import _truncate_all
from .conftest import make_settings, process_env

SHOPS = 20
RETURNS_PER_SHOP = 20
CANCELLATIONS_PER_SHOP = 5
WORKERS = 3

pytestmark = pytest.mark.slow


@pytest.fixture
def slow_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(
        app_key="mp_key", app_secret="mp_secret", seed_returns=0, rps=0, latency_ms=100, subprocess=True
    ) as server:
        yield server


@pytest.fixture
def fleet_runtime(
    postgres_database: str, redis_url: str, slow_emulator: EmulatorServer, tmp_path: Path
) -> Iterator[Runtime]:
    settings = make_settings(
        postgres_database, slow_emulator, tmp_path / "var", redis_url=redis_url,
        queue_name=f"rb-fleet-{uuid.uuid4().hex[:8]}", tiktok_app_key="mp_key", tiktok_app_secret="mp_secret",
    )
    runtime = Runtime.from_settings(settings)
    yield runtime
    runtime.close()
    engine = make_engine(postgres_database)
    _truncate_all(engine)
    engine.dispose()


def connect_shops(runtime: Runtime, emulator: EmulatorServer) -> None:
    control = httpx.Client(base_url=f"{emulator.base_url}/_emulator", timeout=60)
    seller = control.get("/sellers").json()["sellers"][0]
    for number in range(SHOPS):
        shop = control.post("/shops", json={"region": "US", "currency": "USD", "name": f"Fleet shop {number}",
                                            "seller_id": seller["id"]}).json()
        control.post("/seed", json={"shop_id": shop["id"], "returns": RETURNS_PER_SHOP,
                                    "cancellations": CANCELLATIONS_PER_SHOP})
        tokens = TokenSet.model_validate(control.post("/auth/token", json={"shop_id": shop["id"]}).json())
        with transaction(runtime.sessions) as session:
            AccountRepository(session, runtime.box).connect(
                ShopIdentity(shop_id=shop["id"], shop_cipher=shop["cipher"], shop_name=shop["name"]),
                stored_tokens(tokens),
            )
    control.close()


def synced(runtime: Runtime) -> tuple[int, int]:
    with transaction(runtime.sessions) as session:
        streams_done = session.scalar(
            select(func.count()).select_from(SyncState).where(SyncState.last_poll_ok_at.is_not(None))
        )
        cases = session.scalar(select(func.count()).select_from(Case))
    return int(streams_done or 0), int(cases or 0)


def test_three_worker_processes_sync_twenty_shops_storing_every_case_once(
    fleet_runtime: Runtime, slow_emulator: EmulatorServer, tmp_path: Path
) -> None:
    runtime = fleet_runtime
    connect_shops(runtime, slow_emulator)
    logs = [(tmp_path / f"worker{n}.log").open("w") for n in range(WORKERS)]
    workers: list[subprocess.Popen[Any]] = [
        subprocess.Popen(
            [sys.executable, "-m", "returnbridge.cli", "worker", "--workers", "4"],
            env=process_env(runtime), cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    jobs = Jobs(runtime)
    try:
        assert jobs.sweep()["pulls"] == SHOPS
        expected = SHOPS * (RETURNS_PER_SHOP + CANCELLATIONS_PER_SHOP)
        deadline = time.monotonic() + 90
        while synced(runtime) != (2 * SHOPS, expected):
            assert time.monotonic() < deadline, f"not synced in time: {synced(runtime)}"
            assert all(w.poll() is None for w in workers), "a worker died; see its log in " + str(tmp_path)
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        for worker in workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        for log in logs:
            log.close()
        jobs.huey.flush()
    with transaction(runtime.sessions) as session:
        distinct = session.scalar(select(func.count(func.distinct(Case.tiktok_id))))
        first_seen = session.scalar(
            select(func.count()).select_from(TimelineEvent).where(TimelineEvent.kind == "status_change")
        )
    assert (distinct, first_seen) == (expected, expected)
