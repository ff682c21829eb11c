"""The short chaos run on SQLite: one product process, killed and restarted (see ``short_run``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .environment import ChaosOptions
from .short_run import SHORT, check_a_short_chaos_run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_every_invariant_holds_after_a_short_chaos_run_on_sqlite(tmp_path: Path) -> None:
    check_a_short_chaos_run(ChaosOptions(database="sqlite", workdir=tmp_path, **SHORT))
