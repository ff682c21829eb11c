"""Contract tests: our TikTok client against our TikTok emulator, over real HTTP on loopback.

The two are independent readings of the same contract (../shared/docs/tiktok-shop-api.md); when they disagree one of
them misread it. The emulator is driven like a buyer and like TikTok through its control API.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.tiktok import MemoryTokenSource, TikTokClient
from returnbridge.tiktok.models import TokenSet
from returnbridge.tiktok.shop import ShopClient

APP_KEY = "contract_app_key"
APP_SECRET = "contract_app_secret"


class Control:
    """The emulator's /_emulator/ API, used as the buyer, the platform and the test's eyes."""

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


@dataclass
class Seller:
    tokens: TokenSet
    source: MemoryTokenSource


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(app_key=APP_KEY, app_secret=APP_SECRET, seed_returns=120, seed=7) as server:
        yield server


@pytest.fixture(scope="module")
def control(emulator: EmulatorServer) -> Iterator[Control]:
    ctl = Control(emulator.base_url)
    yield ctl
    ctl.http.close()


def make_client(emulator: EmulatorServer, *, app_secret: str = APP_SECRET, **options: Any) -> TikTokClient:
    return TikTokClient(
        app_key=APP_KEY,
        app_secret=app_secret,
        api_base=emulator.base_url,
        auth_base=emulator.base_url,
        authorize_url=f"{emulator.base_url}/open/authorize",
        service_id=emulator.service_id,
        **options,
    )


@pytest.fixture
def client(emulator: EmulatorServer) -> Iterator[TikTokClient]:
    with make_client(emulator, sleep=lambda _seconds: None) as tiktok:
        yield tiktok


def authorize(control: Control, client: TikTokClient, shop_id: str) -> TokenSet:
    code = control("POST", "/auth/code", {"shop_id": shop_id})["code"]
    return client.get_access_token(code)


@pytest.fixture
def us_shop(control: Control) -> dict[str, Any]:
    return control.shop("US")


@pytest.fixture
def shop(control: Control, client: TikTokClient, us_shop: dict[str, Any]) -> ShopClient:
    tokens = authorize(control, client, us_shop["id"])
    return client.shop(us_shop["cipher"], MemoryTokenSource(client, tokens))
