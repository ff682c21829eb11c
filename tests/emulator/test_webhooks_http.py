"""Webhooks from a running emulator: Event API subscriptions, deauthorization, retries on the business clock."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import httpx
import pytest

APP_SECRET = "test-app-secret"


def verify(received: Any, app_key: str = "test-app-key") -> None:
    expected = hmac.new(APP_SECRET.encode(), app_key.encode() + received.body, hashlib.sha256).hexdigest()
    assert received.headers["authorization"] == expected


@pytest.fixture
def server(emulator_factory: Any, webhook_receiver: Any) -> Any:
    return emulator_factory(webhook_url=webhook_receiver.url, rps=0)


def test_event_api_put_get_delete_a_shop_webhook(server: Any, make_client: Any) -> None:
    client = make_client(server)
    put = client.call("PUT", "/event/202309/webhooks",
                      json={"event_type": "RETURN_STATUS_CHANGE", "address": "https://example.com/hook"})
    assert (put["code"], put["data"]) == (0, {})
    listed = client.call("GET", "/event/202309/webhooks")["data"]
    assert listed["total_count"] == 1
    (hook,) = listed["webhooks"]
    assert (hook["event_type"], hook["address"]) == ("RETURN_STATUS_CHANGE", "https://example.com/hook")
    assert isinstance(hook["create_time"], int) and isinstance(hook["update_time"], int)
    assert client.call("DELETE", "/event/202309/webhooks", json={"event_type": "RETURN_STATUS_CHANGE"})["code"] == 0
    assert client.call("GET", "/event/202309/webhooks")["data"]["total_count"] == 0


def test_event_api_refuses_an_unknown_event_type(server: Any, make_client: Any) -> None:
    client = make_client(server)
    body = client.call("PUT", "/event/202309/webhooks", json={"event_type": "NOPE", "address": "https://x.y"})
    assert body["code"] == 36009004


def test_event_api_subscriptions_are_per_shop(server: Any, make_client: Any) -> None:
    first = make_client(server, 0)
    second = make_client(server, 1)
    first.call("PUT", "/event/202309/webhooks", json={"event_type": "RETURN_STATUS_CHANGE", "address": "https://a.b"})
    assert second.call("GET", "/event/202309/webhooks")["data"]["total_count"] == 0


def test_subscribed_address_receives_the_shops_events(server: Any, make_client: Any, webhook_receiver: Any,
                                                       control_api: Any) -> None:
    client = make_client(server)
    address = webhook_receiver.url.replace("/webhooks", "/subscribed")
    client.call("PUT", "/event/202309/webhooks", json={"event_type": "ORDER_STATUS_CHANGE", "address": address})
    shop = next(s for s in control_api(server, "GET", "/shops")["shops"] if s["cipher"] == client.shop_cipher)
    control_api(server, "POST", "/webhooks/send", {"shop_id": shop["id"], "type": 1,
                                                   "data": {"order_id": "1", "order_status": "CANCEL"}})
    (received,) = webhook_receiver.wait_for(1)
    assert received.path == "/subscribed"
    assert received.json["shop_id"] == shop["id"]
    verify(received)


def test_revoking_a_seller_sends_type_6_and_kills_the_tokens(server: Any, make_client: Any,
                                                            webhook_receiver: Any, control_api: Any) -> None:
    client = make_client(server)
    shops = control_api(server, "GET", "/shops")["shops"]
    seller_id = next(s["seller_id"] for s in shops if s["cipher"] == client.shop_cipher)
    seller_shops = {s["id"] for s in shops if s["seller_id"] == seller_id}
    result = control_api(server, "POST", "/auth/revoke", {"seller_id": seller_id, "message": "bye"})
    assert result["revoked"] == 1
    received = webhook_receiver.wait_for(len(seller_shops))
    assert {r.json["shop_id"] for r in received} == seller_shops
    assert all(r.json["type"] == 6 and r.json["data"] == {"message": "bye"} for r in received)
    for r in received:
        verify(r)
    assert client.call("GET", "/authorization/202309/shops", shop_cipher=None)["code"] == 36009004


def test_upcoming_expiration_sends_type_7(server: Any, webhook_receiver: Any, control_api: Any) -> None:
    seller = control_api(server, "GET", "/sellers")["sellers"][0]
    control_api(server, "POST", "/auth/upcoming_expiration",
                {"seller_id": seller["id"], "expiration_time": 1900000000, "message": "renew"})
    received = webhook_receiver.wait_for(1)
    assert received[0].json["type"] == 7
    assert received[0].json["data"] == {"message": "renew", "expiration_time": 1900000000}


def test_failed_delivery_is_retried_after_two_business_minutes(server: Any, webhook_receiver: Any,
                                                              control_api: Any) -> None:
    webhook_receiver.statuses = [500]
    control_api(server, "POST", "/webhooks/send", {"type": 1, "data": {"order_id": "1"}})
    webhook_receiver.wait_for(1)
    time.sleep(0.2)
    assert len(webhook_receiver.received) == 1
    control_api(server, "POST", "/clock/advance", {"seconds": 120})
    second = webhook_receiver.wait_for(2)[1]
    assert second.body == webhook_receiver.received[0].body
    deliveries = control_api(server, "GET", "/webhooks/deliveries")["deliveries"]
    assert [a["status"] for a in deliveries[0]["attempts"]] == [500, 200]
    assert deliveries[0]["state"] == "delivered"


def test_retries_follow_a_large_time_scale_without_clock_jumps(emulator_factory: Any,
                                                               webhook_receiver: Any) -> None:
    server = emulator_factory(webhook_url=webhook_receiver.url, time_scale=7200)  # 2 min = 1/60 s, 30 min = 1/4 s
    webhook_receiver.statuses = [500, 500]
    httpx.post(f"{server.base_url}/_emulator/webhooks/send", json={"type": 1, "data": {}})
    received = webhook_receiver.wait_for(3, timeout=5)
    assert received[2].at - received[0].at < 2.0
    assert len({r.body for r in received}) == 1


def test_world_change_events_become_signed_webhooks(server: Any, webhook_receiver: Any) -> None:
    from returnbridge.emulators.tiktok.world import ChangeEvent

    shop = server.world.shops()[0]
    event = ChangeEvent(shop_id=shop.id, type=11, data={"cancel_id": "1", "cancel_status": "X"})
    with server.world.lock:
        server.world.on_change(event)
    (received,) = webhook_receiver.wait_for(1)
    assert received.json["type"] == 11
    assert received.json["data"] == event.data
    verify(received)


def test_webhook_settings_and_chaos_knobs_via_control_api(server: Any, webhook_receiver: Any,
                                                          control_api: Any) -> None:
    settings = control_api(server, "PUT", "/webhooks", {"drop_probability": 1.0})
    assert settings["drop_probability"] == 1.0
    assert settings["url"] == webhook_receiver.url
    control_api(server, "POST", "/webhooks/send", {"type": 1, "data": {}})
    time.sleep(0.2)
    assert webhook_receiver.received == []
    assert control_api(server, "GET", "/webhooks/deliveries")["deliveries"][0]["state"] == "dropped"


def test_bad_chaos_setting_is_a_400(server: Any) -> None:
    response = httpx.put(f"{server.base_url}/_emulator/webhooks", json={"drop_probability": 3})
    assert response.status_code == 400
