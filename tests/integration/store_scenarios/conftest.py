"""Fixtures of the store scenario suite: one emulator per platform driver (module scope), a fresh runtime and
database per test (SQLite and PostgreSQL), a fresh store in the emulator per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from returnbridge.config import Settings
from returnbridge.sync.runtime import Runtime

from .drivers import PlatformDriver, ScenarioStore
from .harness import Scenario, tiktok_account
from .registry import DRIVERS


@pytest.fixture(scope="module", params=DRIVERS, ids=[d.platform for d in DRIVERS])
def driver(request: pytest.FixtureRequest) -> Iterator[PlatformDriver]:
    instance: PlatformDriver = request.param()
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    # No TikTok emulator here: the scenarios write TikTok's answers through the same ingest path a pull uses.
    settings = Settings(_env_file=None, database_url=db_url, secret_key="store-scenarios",  # type: ignore[call-arg]
                        var_dir=tmp_path / "var")
    rt = Runtime.from_settings(settings)
    yield rt
    rt.close()


@pytest.fixture
def store(driver: PlatformDriver, runtime: Runtime) -> Iterator[ScenarioStore]:
    created = driver.add_store(runtime)
    yield created
    driver.clear_faults(created)


@pytest.fixture
def scenario(driver: PlatformDriver, runtime: Runtime, store: ScenarioStore) -> Scenario:
    return Scenario(driver, runtime, store, tiktok_account(runtime))
