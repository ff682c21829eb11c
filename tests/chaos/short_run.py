"""The short chaos run of `make test` (a few hundred cases, a short fault window) and its checks; one test file per
database, so the two runs go to different test workers side by side. The full run is `make chaos`."""

from __future__ import annotations

from .environment import ChaosOptions
from .runner import run_chaos

SHORT = {"seed": 8, "cases": 200, "shops": 2, "workers": 2, "fault_seconds": 20.0, "converge_timeout": 240.0}


def check_a_short_chaos_run(options: ChaosOptions) -> None:
    figures = run_chaos(options)
    broken = {name: result["examples"] for name, result in figures["invariants"].items() if not result["held"]}
    assert broken == {}, figures
    assert figures["cases_unfinished"] == [] and figures["cases"] == SHORT["cases"], figures
    # The run must have been a chaos run: faults of every family met, and processes killed mid-work.
    injected = figures["faults_injected"]
    assert injected["process_kills"] >= 1 and injected["token_expiry"] >= 1, injected
    assert any(k.startswith("tiktok_") for k in injected) and any(k.startswith("shopify_") for k in injected)
    assert figures["processes_crashed_unprompted"] == []
