"""The job layer: the sweep finds what is due, pulls run under the shop lease, and real consumers (SQLite queue and
Redis queue) carry the work out."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huey import MemoryHuey
from sqlalchemy import func, select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, SyncState
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.jobs import Jobs, make_huey
from returnbridge.sync.locks import lease, shop_lease_name
from returnbridge.sync.runtime import Runtime

from .conftest import Control, connect_shop, fresh_shop, make_settings


def case_count(runtime: Runtime, account_id: int) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(Case).where(Case.account_id == account_id)) or 0)


def wait_until(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def immediate_jobs(runtime: Runtime) -> Jobs:
    """Tasks run at once when enqueued: the task logic without a consumer."""
    return Jobs(runtime, MemoryHuey("test", immediate=True))


def test_sweep_pulls_a_shop_that_was_never_pulled(immediate_jobs: Jobs, runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=30, cancellations=5)
    account_id = connect_shop(runtime, control, shop)
    figures = immediate_jobs.sweep()
    assert figures["pulls"] >= 1
    assert case_count(runtime, account_id) == 35


def test_sweep_leaves_a_shop_pulled_within_the_interval_alone(
    immediate_jobs: Jobs, runtime: Runtime, control: Control
) -> None:
    shop = fresh_shop(control, returns=5)
    account_id = connect_shop(runtime, control, shop)
    immediate_jobs.sweep()
    control("POST", "/returns", {"shop_id": shop["id"], "return_type": "REFUND"})
    immediate_jobs.sweep()
    assert case_count(runtime, account_id) == 5


def test_pull_job_skips_a_shop_another_process_is_pulling(
    immediate_jobs: Jobs, runtime: Runtime, control: Control
) -> None:
    shop = fresh_shop(control, returns=5)
    account_id = connect_shop(runtime, control, shop)
    with lease(runtime, shop_lease_name(account_id)):
        assert immediate_jobs._pull(account_id) == "busy"
    assert case_count(runtime, account_id) == 0
    assert immediate_jobs._pull(account_id) == "pulled"
    assert case_count(runtime, account_id) == 5


def test_pull_job_merges_the_records_of_new_returns(immediate_jobs: Jobs, runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=6)
    account_id = connect_shop(runtime, control, shop)
    immediate_jobs._pull(account_id)
    with transaction(runtime.sessions) as session:
        due = session.scalar(select(func.count()).select_from(Case).where(Case.records_due.is_(True)))
    assert due == 0


def test_only_one_scheduler_sweeps_per_minute(runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=3)
    connect_shop(runtime, control, shop)
    first = Jobs(runtime, MemoryHuey("a", immediate=True))
    second = Jobs(runtime, MemoryHuey("b", immediate=True))
    first._schedule()
    with transaction(runtime.sessions) as session:
        polled = session.scalar(select(func.max(SyncState.last_poll_started_at)))
    second._schedule()
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.max(SyncState.last_poll_started_at))) == polled


@pytest.fixture
def queued_runtime(
    request: pytest.FixtureRequest, db_url: str, emulator: EmulatorServer, tmp_path: Path
) -> Iterator[Runtime]:
    """A runtime whose queue is SQLite (in tmp) or Redis (a queue name of its own), per parameter."""
    overrides: dict[str, Any] = {"queue_name": f"rb-test-{uuid.uuid4().hex[:8]}"}
    if request.param == "redis":
        overrides["redis_url"] = request.getfixturevalue("redis_url")
    rt = Runtime.from_settings(make_settings(db_url, emulator, tmp_path / "var", **overrides))
    yield rt
    rt.close()


@pytest.mark.parametrize("queued_runtime", ["sqlite-queue", "redis"], indirect=True)
def test_a_consumer_pulls_an_enqueued_shop(queued_runtime: Runtime, control: Control) -> None:
    runtime = queued_runtime
    shop = fresh_shop(control, returns=40, cancellations=4)
    account_id = connect_shop(runtime, control, shop)
    jobs = Jobs(runtime, make_huey(runtime))
    consumer = jobs.consumer(workers=2, periodic=False)
    consumer.start()
    try:
        jobs.pull(account_id)
        wait_until(lambda: case_count(runtime, account_id) == 44)
    finally:
        consumer.stop(graceful=True)
        jobs.huey.flush()
