"""The chaos run in short (a few hundred cases, a short fault window), in `make test`: on PostgreSQL + Redis with
two worker processes beside the web process, and on SQLite with one process that is killed and restarted. The
full run is `make chaos`."""

from __future__ import annotations

from pathlib import Path

import pytest

from .environment import ChaosOptions
from .runner import run_chaos

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SHORT = {"seed": 8, "cases": 200, "shops": 2, "workers": 2, "fault_seconds": 20.0, "converge_timeout": 240.0}


@pytest.fixture(params=["postgres", "sqlite"])
def options(request: pytest.FixtureRequest, tmp_path: Path) -> ChaosOptions:
    if request.param == "sqlite":
        return ChaosOptions(database="sqlite", workdir=tmp_path, **SHORT)
    return ChaosOptions(database="postgres", workdir=tmp_path, **SHORT,
                        postgres_url=request.getfixturevalue("postgres_admin_url"),
                        redis_url=request.getfixturevalue("redis_url"))


def test_every_invariant_holds_after_a_short_chaos_run(options: ChaosOptions) -> None:
    figures = run_chaos(options)
    broken = {name: result["examples"] for name, result in figures["invariants"].items() if not result["held"]}
    assert broken == {}, figures
    assert figures["cases_unfinished"] == [] and figures["cases"] == SHORT["cases"], figures
    # The run must have been a chaos run: faults of every family met, and processes killed mid-work.
    injected = figures["faults_injected"]
    assert injected["process_kills"] >= 1 and injected["token_expiry"] >= 1, injected
    assert any(k.startswith("tiktok_") for k in injected) and any(k.startswith("shopify_") for k in injected)
    assert figures["processes_crashed_unprompted"] == []
