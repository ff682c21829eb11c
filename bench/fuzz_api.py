"""The JSON API fuzzed from its own OpenAPI document, longer than the test suite does it, with the figures as JSON.

The same harness as ``tests/fuzz/test_api_fuzz.py`` (``tests/fuzz/api_fuzz.py``): a fresh SQLite database, the
TikTok emulator with a connected shop and seeded cases, an admin's API token, the app called in-process (ASGI).
For each /api/ operation schemathesis sends ``--examples`` valid and as many invalid requests, and as many again
aimed at the seeded cases for operations on one case. A failure is any 5xx, or a 4xx that is not JSON with a
``detail`` message. Prints requests sent, operations covered, statuses seen and the distinct failures; exits 1
when there is any.

    .venv/bin/python bench/fuzz_api.py --examples 150 --seed 1 [--postgres postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the harness lives with the tests

from tests.fuzz.api_fuzz import fuzz_world, run_fuzz


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=150, help="requests per operation and mode")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="fuzz on a fresh database on this PostgreSQL server "
                        "(e.g. $RETURNBRIDGE_TEST_POSTGRES_URL) instead of SQLite")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the app logs each refused request; the figures are the output
    with fuzz_world(args.postgres) as world:
        figures = run_fuzz(world, examples=args.examples, seed=args.seed)
    print(json.dumps({"database": "postgresql" if args.postgres else "sqlite", **figures.as_json()}, indent=2,
                     ensure_ascii=False))
    return 1 if figures.failures else 0


if __name__ == "__main__":
    sys.exit(main())
