"""Connecting a shop points its TikTok webhooks at this installation; a refusal leaves the shop connected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.accounts import WEBHOOK_EVENTS, connect_with_auth_code, list_accounts
from returnbridge.sync.runtime import Runtime

from .conftest import Control, fresh_shop, make_settings

PUBLIC_URL = "https://returns.example.com"


@pytest.fixture
def subscribing_runtime(db_url: str, emulator: EmulatorServer, tmp_path: Path) -> Iterator[Runtime]:
    settings = make_settings(db_url, emulator, tmp_path / "var", public_url=PUBLIC_URL, tiktok_subscribe_webhooks=True)
    runtime = Runtime.from_settings(settings)
    yield runtime
    runtime.close()


def _subscriptions(control: Control, shop_id: str) -> dict[str, str]:
    found: list[dict[str, Any]] = control("GET", "/webhooks")["subscriptions"].get(shop_id, [])
    return {item["event_type"]: item["address"] for item in found}


def test_connecting_a_shop_subscribes_its_return_cancellation_and_authorization_webhooks(
    subscribing_runtime: Runtime, control: Control
) -> None:
    shop = fresh_shop(control, returns=1)
    code = control("POST", "/auth/code", {"shop_id": shop["id"]})["code"]
    connected = connect_with_auth_code(subscribing_runtime, code)
    assert all(not item.webhook_problem for item in connected)
    assert _subscriptions(control, shop["id"]) == {event: f"{PUBLIC_URL}/webhooks/tiktok" for event in WEBHOOK_EVENTS}


def test_subscribed_webhooks_are_listed_by_the_shop_client(subscribing_runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=1)
    code = control("POST", "/auth/code", {"shop_id": shop["id"]})["code"]
    account = next(item for item in connect_with_auth_code(subscribing_runtime, code) if item.shop_id == shop["id"])
    listed = subscribing_runtime.shop_client(account.account_id).list_webhooks()
    assert sorted(listed) == sorted((event, f"{PUBLIC_URL}/webhooks/tiktok") for event in WEBHOOK_EVENTS)


def test_a_refused_subscription_leaves_the_shop_connected_with_the_reason(
    subscribing_runtime: Runtime, control: Control
) -> None:
    shop = fresh_shop(control, returns=1)
    code = control("POST", "/auth/code", {"shop_id": shop["id"]})["code"]
    control("POST", "/faults", {"path_prefix": "/event/202309/webhooks", "count": 50, "code": 36009003,
                                "http_status": 500})
    try:
        connected = connect_with_auth_code(subscribing_runtime, code)
    finally:
        control("DELETE", "/faults")
    ours = next(item for item in connected if item.shop_id == shop["id"])
    assert "did not subscribe the webhooks" in ours.webhook_problem
    summary = {account.account_id: account.status for account in list_accounts(subscribing_runtime)}
    assert summary[ours.account_id] == "active"
