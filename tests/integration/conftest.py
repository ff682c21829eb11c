"""Integration tests: the sync layer against real databases (SQLite and PostgreSQL) and the TikTok emulator over
real HTTP. ``runtime`` is a whole process's worth of wiring (settings, engine, secret box, TikTok client)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from returnbridge.config import Settings
from returnbridge.db.engine import transaction
from returnbridge.db.repositories.accounts import AccountRepository, ShopIdentity
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.tokens import stored_tokens

from ..contract.conftest import Control

APP_KEY = "it_app_key"
APP_SECRET = "it_app_secret"
SERVICE_ID = "it-service"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(
        app_key=APP_KEY, app_secret=APP_SECRET, service_id=SERVICE_ID, seed_returns=60, seed=11, rps=0
    ) as server:
        yield server


@pytest.fixture(scope="module")
def control(emulator: EmulatorServer) -> Iterator[Control]:
    ctl = Control(emulator.base_url)
    yield ctl
    ctl.http.close()


def make_settings(db_url: str, emulator: EmulatorServer, var_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "var_dir": var_dir,
        "database_url": db_url,
        "secret_key": "integration-test-secret-key",
        "tiktok_app_key": APP_KEY,
        "tiktok_app_secret": APP_SECRET,
        "tiktok_service_id": emulator.service_id,
        "tiktok_api_base": emulator.base_url,
        "tiktok_auth_base": emulator.base_url,
        "tiktok_authorize_url": f"{emulator.base_url}/open/authorize",
        "tiktok_rate_per_second": 1000.0,
        # Off unless a test is about it: a subscription would redirect the shared emulator's deliveries for that
        # shop away from the receiver the webhook tests point it at.
        "tiktok_subscribe_webhooks": False,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def runtime(db_url: str, emulator: EmulatorServer, tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime.from_settings(make_settings(db_url, emulator, tmp_path / "var"))
    yield rt
    rt.close()


def connect_shop(runtime: Runtime, control: Control, shop: dict[str, Any]) -> int:
    """Authorize the emulator's shop and store it as a connected account, as the OAuth callback does."""
    code = control("POST", "/auth/code", {"shop_id": shop["id"]})["code"]
    tokens = runtime.tiktok.get_access_token(code)
    with transaction(runtime.sessions) as session:
        account = AccountRepository(session, runtime.box).connect(
            ShopIdentity(shop_id=shop["id"], shop_cipher=shop["cipher"], shop_name=shop.get("name", ""),
                         region=shop.get("region", "")),
            stored_tokens(tokens),
        )
        return account.id


@pytest.fixture
def us_shop(control: Control) -> dict[str, Any]:
    return control.shop("US")


@pytest.fixture
def account_id(runtime: Runtime, control: Control, us_shop: dict[str, Any]) -> int:
    """The emulator's US shop, connected."""
    return connect_shop(runtime, control, us_shop)


def fresh_shop(control: Control, returns: int, cancellations: int = 0) -> dict[str, Any]:
    """A new shop of its own, seeded, so counts in a test are exact."""
    seller = control("GET", "/sellers")["sellers"][0]
    shop = control(
        "POST", "/shops", {"region": "US", "currency": "USD", "name": "Test shop", "seller_id": seller["id"]}
    )
    control("POST", "/seed", {"shop_id": shop["id"], "returns": returns, "cancellations": cancellations})
    return shop


def process_env(runtime: Runtime) -> dict[str, str]:
    """The environment of a `returnbridge` child process configured like ``runtime`` (and nothing inherited)."""
    s = runtime.settings
    env = {key: value for key, value in os.environ.items() if not key.startswith("RETURNBRIDGE_")}
    env.update({
        "RETURNBRIDGE_DATABASE_URL": s.database_url,
        "RETURNBRIDGE_REDIS_URL": s.redis_url or "",
        "RETURNBRIDGE_QUEUE_NAME": s.queue_name,
        "RETURNBRIDGE_SECRET_KEY": s.secret_key or "",
        "RETURNBRIDGE_VAR_DIR": str(s.var_dir),
        "RETURNBRIDGE_TIKTOK_APP_KEY": s.tiktok_app_key,
        "RETURNBRIDGE_TIKTOK_APP_SECRET": s.tiktok_app_secret,
        "RETURNBRIDGE_TIKTOK_API_BASE": s.tiktok_api_base,
        "RETURNBRIDGE_TIKTOK_AUTH_BASE": s.tiktok_auth_base,
        "RETURNBRIDGE_TIKTOK_RATE_PER_SECOND": str(s.tiktok_rate_per_second),
    })
    return env
