"""The short chaos run on PostgreSQL + Redis: two worker processes beside the web process (see ``short_run``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .environment import ChaosOptions
from .short_run import SHORT, check_a_short_chaos_run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_every_invariant_holds_after_a_short_chaos_run_on_postgres(
    tmp_path: Path, postgres_admin_url: str, redis_url: str
) -> None:
    check_a_short_chaos_run(ChaosOptions(database="postgres", workdir=tmp_path, **SHORT,
                                         postgres_url=postgres_admin_url, redis_url=redis_url))
