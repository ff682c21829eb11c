"""`make chaos`: one scripted run for a fixed seed, printed as JSON figures; exit 1 when an invariant fails.

    python -m tests.chaos.runner --database postgres --seed 8 --cases 2000
    python -m tests.chaos.runner --database sqlite

The run: start the emulators, a fresh database and the product's processes; for ``fault_seconds`` open cases at an
even pace and move them along while the fault timetable plays; then stop every fault, let the people finish their
cases, and check the invariants until they hold (or ``converge_timeout`` passes). "Converged" is the first moment
every case is finished and every invariant holds, counted from the end of the last fault.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from .environment import ChaosOptions, Environment, options_from_env
from .faults import FaultInjector, timetable
from .fleet import Fleet
from .invariants import all_held, check_all
from .scenario import Scenario

log = logging.getLogger(__name__)

TICK_SECONDS = 0.25
CHECK_EVERY_SECONDS = 3.0


def run_chaos(options: ChaosOptions) -> dict[str, Any]:
    started = time.monotonic()
    rng = random.Random(options.seed)
    env = Environment(options).start()
    fleet = Fleet(env.process_env(), options.workdir.resolve(), web_port=env.web_port, workers=options.workers,
                  single=options.single_process)
    scenario: Scenario | None = None
    try:
        fleet.start()
        scenario = Scenario(env, random.Random(rng.random()))
        events = timetable(random.Random(rng.random()), options.fault_seconds,
                           processes=len(fleet.killable), single=options.single_process)
        faults = FaultInjector(env, fleet, random.Random(rng.random()), events)
        from returnbridge.sync.jobs import Jobs

        assert env.runtime is not None
        jobs = Jobs(env.runtime)
        jobs.sweep()  # the first pull of every shop, as `serve` does when it starts
        window_start = time.monotonic()
        faults.start()
        last_sweep = time.monotonic()
        while True:
            elapsed = time.monotonic() - window_start
            if elapsed >= options.fault_seconds:
                break
            due_cases = int(options.cases * min(1.0, elapsed / (options.fault_seconds * 0.8)))
            while len(scenario.cases) < due_cases:
                scenario.open_case()
            faults.due(elapsed)
            scenario.tick(merchant_away=faults.database_down)
            last_sweep = _sweep_if_due(jobs, last_sweep, options.sweep_every)
            time.sleep(TICK_SECONDS)
        while len(scenario.cases) < options.cases:
            scenario.open_case()
        faults.stop()
        fault_end = faults.last_fault_at
        converged_at: float | None = None
        results: dict[str, Any] = {}
        last_check = 0.0
        while time.monotonic() - fault_end < options.converge_timeout:
            scenario.tick(merchant_away=False)
            last_sweep = _sweep_if_due(jobs, last_sweep, options.sweep_every)
            if not scenario.active and time.monotonic() - last_check >= CHECK_EVERY_SECONDS:
                last_check = time.monotonic()
                results = check_all(env, scenario.cases)
                if all_held(results):
                    converged_at = time.monotonic()
                    break
            time.sleep(TICK_SECONDS)
        if converged_at is None:
            results = check_all(env, scenario.cases)
        crashed = fleet.dead()
        figures = {
            "database": options.database,
            "seed": options.seed,
            "processes": [m.name for m in fleet.members],
            "cases": len(scenario.cases),
            "cases_by_path": {k.removeprefix("opened_"): v for k, v in sorted(scenario.counts.items())
                              if k.startswith("opened_")},
            "cases_unfinished": [f"{c.tiktok_id} {c.path.name} step {c.step} at {c.tiktok_status}"
                                 for c in scenario.active][:5],
            "cases_given_up": [f"{c.tiktok_id}: {c.gave_up}" for c in scenario.cases.values() if c.gave_up][:5],
            "people": {k: v for k, v in sorted(scenario.counts.items()) if not k.startswith("opened_")},
            "requests": _requests(env),
            "faults_injected": {**dict(sorted(faults.injected.items())), **faults.webhook_faults(),
                                "process_kills": fleet.kills},
            "invariants": results,
            "all_invariants_held": bool(results) and all_held(results) and not scenario.active,
            "processes_crashed_unprompted": crashed,
            "converge_seconds_after_last_fault": None if converged_at is None else round(converged_at - fault_end, 1),
            "fault_seconds": options.fault_seconds,
            "sweep_every_seconds": options.sweep_every,
            "wall_seconds": round(time.monotonic() - started, 1),
        }
        total = sum(v for k, v in figures["faults_injected"].items() if k != "not_reached")
        figures["faults_injected"]["total"] = total - figures["faults_injected"].get("not_reached", 0)
        return figures
    finally:
        if scenario is not None:
            scenario.close()
        fleet.stop()
        env.close()


def _sweep_if_due(jobs: Any, last: float, every: float) -> float:
    if time.monotonic() - last < every:
        return last
    try:
        jobs.sweep()
    except Exception as error:  # the database is "restarting"; the next sweep will do
        log.info("sweep skipped: %s", error.__class__.__name__)
    return time.monotonic()


def _requests(env: Environment) -> dict[str, int]:
    tiktok = env.call_tiktok("GET", "/stats")
    shopify = env.call_shopify("GET", "/requests")["total"]
    return {"tiktok_api": int(tiktok["total"]), "shopify_graphql": int(shopify)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.runner", description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--seed", type=int, default=None, help="default: RETURNBRIDGE_CHAOS_SEED or 8")
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--shops", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--fault-seconds", type=float, default=None)
    parser.add_argument("--converge-timeout", type=float, default=None)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Retries of the merchant's own calls are the point of the run, not news; errors still show.
    logging.getLogger("returnbridge").setLevel(logging.ERROR)
    options = options_from_env()
    overrides = {name: value for name, value in (
        ("database", args.database), ("seed", args.seed), ("cases", args.cases), ("shops", args.shops),
        ("workers", args.workers), ("fault_seconds", args.fault_seconds),
        ("converge_timeout", args.converge_timeout), ("workdir", args.workdir),
    ) if value is not None}
    options = replace(options, **overrides)
    if args.workdir is None:
        options = replace(options, workdir=Path("var") / f"chaos-{options.database}-{options.seed}")
    figures = run_chaos(options)
    text = json.dumps(figures, indent=2, default=str)
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n", encoding="utf-8")
    return 0 if figures["all_invariants_held"] and not figures["processes_crashed_unprompted"] else 1


if __name__ == "__main__":
    sys.exit(main())
