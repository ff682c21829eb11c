"""The Magento client against the emulator: admin token issue and renewal before the 4-hour expiry, renewal after
a revoked token, retries of reads on 5xx, and typed errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from returnbridge.emulators.magento.server import EmulatorServer
from returnbridge.stores.adapter import PermanentStoreError, TransientStoreError
from returnbridge.stores.magento import MagentoClient, MagentoCredentials
from returnbridge.stores.magento.client import MagentoNotFound, search_params


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as s:
        yield s


@pytest.fixture
def site(server: EmulatorServer) -> Iterator[tuple[httpx.Client, str, str]]:
    control = httpx.Client(base_url=f"{server.base_url}/_emulator", timeout=10)
    name = f"c{uuid.uuid4().hex[:8]}"
    info = control.post("/sites", json={"name": name, "username": "rb", "password": "pw"}).json()
    control.post(f"/sites/{name}/orders", json={"tiktok_order_id": "T1", "lines": [{"sku": "RB-001", "price": "5"}]})
    yield control, name, info["rest_url"]
    control.delete("/faults")
    control.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_admin_token_is_renewed_before_it_expires(site: tuple[httpx.Client, str, str]) -> None:
    control, name, rest_url = site
    clock = Clock()
    client = MagentoClient(rest_url, MagentoCredentials("admin", username="rb", password="pw"), clock=clock)
    client.get("/V1/orders/1")
    clock.now += 4 * 3600 - 200  # within the renewal margin, still valid on Magento's side
    control.post(f"/sites/{name}/clock", json={"advance_seconds": 4 * 3600 - 200})
    client.get("/V1/orders/1")
    assert client.tokens_issued == 2
    log = control.get("/requests", params={"site": name}).json()["requests"]
    assert [r["status"] for r in log if r["route"] == "get_order"] == [200, 200]  # never a 401


def test_a_revoked_token_is_replaced_once(site: tuple[httpx.Client, str, str]) -> None:
    control, name, rest_url = site
    client = MagentoClient(rest_url, MagentoCredentials("admin", username="rb", password="pw"))
    client.get("/V1/orders/1")
    control.post(f"/sites/{name}/tokens/expire")
    assert client.get("/V1/orders/1")["entity_id"] == 1
    assert client.tokens_issued == 2


def test_wrong_credentials_are_a_permanent_error(site: tuple[httpx.Client, str, str]) -> None:
    _, _, rest_url = site
    client = MagentoClient(rest_url, MagentoCredentials("admin", username="rb", password="wrong"))
    with pytest.raises(PermanentStoreError, match="sign-in was incorrect"):
        client.get("/V1/orders/1")


def test_reads_are_retried_on_5xx_and_writes_are_not(site: tuple[httpx.Client, str, str]) -> None:
    control, name, rest_url = site
    client = MagentoClient(rest_url, MagentoCredentials("admin", username="rb", password="pw"), sleep=lambda _: None)
    control.post("/faults", json={"kind": "http_error", "match": "get_order", "site": name, "count": 2})
    assert client.get("/V1/orders/1")["entity_id"] == 1
    control.post("/faults", json={"kind": "http_error", "match": "order_comment", "site": name})
    with pytest.raises(TransientStoreError, match="outcome unknown"):
        client.post("/V1/orders/1/comments", {"statusHistory": {"comment": "x"}})


def test_errors_are_rendered_and_typed(site: tuple[httpx.Client, str, str]) -> None:
    _, _, rest_url = site
    client = MagentoClient(rest_url, MagentoCredentials("admin", username="rb", password="pw"))
    with pytest.raises(MagentoNotFound):
        client.get("/V1/orders/999")
    with pytest.raises(PermanentStoreError, match='Unknown column "nope"'):
        client.get("/V1/orders", search_params([[("nope", "1", "eq")]]))
