"""HTTP-level tests of the back-office (sign-in, roles, CSRF, headers) against the real app, on SQLite and
PostgreSQL. Sign-in limits are lowered so lockouts happen within a few requests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from returnbridge.config import Settings
from returnbridge.sync.runtime import Runtime
from returnbridge.web.app import create_app

MAX_FAILURES = 3
IP_MAX_FAILURES = 5


def web_settings(db_url: str, var_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "var_dir": var_dir,
        "database_url": db_url,
        "secret_key": "web-test-secret-key",
        "login_max_failures": MAX_FAILURES,
        "login_ip_max_failures": IP_MAX_FAILURES,
        "login_lockout_minutes": 15,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def make_runtime(db_url: str, tmp_path: Path) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def make(**overrides: Any) -> Runtime:
        runtime = Runtime.from_settings(web_settings(db_url, tmp_path / "var", **overrides))
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime()


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime, on_webhook=lambda _id: None)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
