"""Integration tests: the sync layer against real databases (SQLite and PostgreSQL) and the TikTok emulator over
real HTTP. ``runtime`` is a whole process's worth of wiring (settings, engine, secret box, TikTok client)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from returnbridge.config import Settings
from returnbridge.db.engine import transaction
from returnbridge.db.repositories.accounts import AccountRepository, ShopIdentity
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.tokens import stored_tokens

APP_KEY = "it_app_key"
APP_SECRET = "it_app_secret"
SERVICE_ID = "it-service"


class Control:
    """The emulator's /_emulator/ API: the buyer, the platform and the test's eyes."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=f"{base_url}/_emulator", timeout=30)

    def __call__(self, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=json)
        assert response.status_code < 400, f"control {method} {path}: {response.status_code} {response.text}"
        return response.json()

    def shops(self) -> list[dict[str, Any]]:
        return self("GET", "/shops")["shops"]

    def shop(self, region: str) -> dict[str, Any]:
        return next(s for s in self.shops() if s["region"] == region)

    def new_return(self, shop_id: str, return_type: str = "RETURN_AND_REFUND", **options: Any) -> dict[str, Any]:
        return self("POST", "/returns", {"shop_id": shop_id, "return_type": return_type, **options})

    def new_cancellation(self, shop_id: str, **options: Any) -> dict[str, Any]:
        return self("POST", "/cancellations", {"shop_id": shop_id, **options})

    def request(self, request_id: str) -> dict[str, Any]:
        return self("GET", f"/requests/{request_id}")


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
