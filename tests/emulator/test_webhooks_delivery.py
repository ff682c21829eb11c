"""Webhook delivery (contract §5.1–5.2): signed envelopes, routing, the retry schedule, and chaos knobs."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from returnbridge.emulators.tiktok.clock import Clock
from returnbridge.emulators.tiktok.signing import webhook_signature
from returnbridge.emulators.tiktok.webhooks import RETRY_DELAYS_SECONDS, WebhookDispatcher

RETURN_DATA = {"order_id": "576653688135258178", "return_role": "BUYER", "return_type": "REFUND",
               "return_status": "RETURN_OR_REFUND_REQUEST_PENDING", "return_id": "4035318504086604100",
               "create_time": 1718305585, "update_time": 1718305585}


@pytest.fixture
def clock() -> Clock:
    return Clock(start=1_750_000_000)


@pytest.fixture
def dispatcher(clock: Clock, webhook_receiver: Any) -> Iterator[WebhookDispatcher]:
    sender = WebhookDispatcher(app_key="key", app_secret="secret", clock=clock, default_url=webhook_receiver.url,
                               seed=1)
    sender.start()
    yield sender
    sender.stop()


def wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached in time")


def test_w1_vector_signature() -> None:
    body = (b'{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507",'
            b'"timestamp":1718305585,"data":{"is_on_hold_order":true,"order_id":"576653688135258178",'
            b'"order_status":"UNPAID","update_time":1718305585}}')
    assert webhook_signature("abcdef", "123", body) == (
        "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05"
    )


def test_delivered_webhook_has_the_envelope_and_a_valid_authorization(
    dispatcher: WebhookDispatcher, webhook_receiver: Any, clock: Clock
) -> None:
    dispatcher.publish("7495540735365777507", 12, RETURN_DATA)
    (received,) = webhook_receiver.wait_for(1)
    payload = received.json
    assert list(payload) == ["type", "tts_notification_id", "shop_id", "timestamp", "data"]
    assert payload["type"] == 12
    assert payload["shop_id"] == "7495540735365777507"
    assert payload["data"] == RETURN_DATA
    assert abs(payload["timestamp"] - clock.now()) <= 1
    notification_id = payload["tts_notification_id"]
    assert isinstance(notification_id, str) and len(notification_id) == 19 and notification_id.isdigit()
    expected = hmac.new(b"secret", b"key" + received.body, hashlib.sha256).hexdigest()
    assert received.headers["authorization"] == expected
    assert received.headers["content-type"] == "application/json"


def test_notification_ids_are_unique(dispatcher: WebhookDispatcher, webhook_receiver: Any) -> None:
    for _ in range(20):
        dispatcher.publish("1", 12, RETURN_DATA)
    received = webhook_receiver.wait_for(20)
    assert len({r.json["tts_notification_id"] for r in received}) == 20


def test_successful_delivery_is_logged_as_delivered(dispatcher: WebhookDispatcher, webhook_receiver: Any) -> None:
    delivery = dispatcher.publish("1", 11, {"cancel_id": "9"})
    webhook_receiver.wait_for(1)
    wait_until(lambda: delivery.state == "delivered")
    (logged,) = dispatcher.deliveries()
    assert logged["notification_id"] == delivery.notification_id
    assert logged["attempts"][0]["status"] == 200


def test_failed_delivery_is_retried_on_the_documented_schedule_then_abandoned(
    dispatcher: WebhookDispatcher, webhook_receiver: Any, clock: Clock
) -> None:
    webhook_receiver.statuses = [500] * 10
    delivery = dispatcher.publish("1", 12, RETURN_DATA)
    for attempt, delay in enumerate(RETRY_DELAYS_SECONDS, start=1):
        webhook_receiver.wait_for(attempt)
        wait_until(lambda n=attempt: len(delivery.attempts) == n)
        assert delivery.state == "pending"
        assert int(delivery.next_attempt_at) - delivery.attempts[-1]["at"] in (delay, delay - 1)
        clock.advance(delay - 2)
        time.sleep(0.15)
        assert len(webhook_receiver.received) == attempt  # not early
        clock.advance(2)
    webhook_receiver.wait_for(5)
    wait_until(lambda: delivery.state == "failed")
    clock.advance(10 * 24 * 3600)
    time.sleep(0.15)
    assert len(webhook_receiver.received) == 5
    bodies = {r.body for r in webhook_receiver.received}
    assert len(bodies) == 1  # every retry resends the same notification


def test_retry_schedule_follows_the_time_scale(webhook_receiver: Any) -> None:
    clock = Clock(start=1_750_000_000, time_scale=3600.0)  # 2 min take 1/30 s, 30 min take 0.5 s
    sender = WebhookDispatcher(app_key="key", app_secret="secret", clock=clock, default_url=webhook_receiver.url)
    sender.start()
    try:
        webhook_receiver.statuses = [503, 503]
        delivery = sender.publish("1", 12, RETURN_DATA)
        received = webhook_receiver.wait_for(3, timeout=5)
        wait_until(lambda: delivery.state == "delivered")
        first, second, third = (a["at"] for a in delivery.attempts)
        assert 120 <= second - first <= 120 + 360  # within 0.1 s of real-time jitter
        assert 1800 <= third - second <= 1800 + 360
        assert received[2].at - received[0].at < 2.0
    finally:
        sender.stop()


def test_only_http_200_counts_as_delivered(dispatcher: WebhookDispatcher, webhook_receiver: Any) -> None:
    webhook_receiver.statuses = [204]
    delivery = dispatcher.publish("1", 12, RETURN_DATA)
    webhook_receiver.wait_for(1)
    wait_until(lambda: len(delivery.attempts) == 1)
    assert delivery.state == "pending"
    assert delivery.attempts[0]["error"] == "HTTP 204"


def test_a_receiver_slower_than_the_timeout_counts_as_failed(webhook_receiver: Any, clock: Clock) -> None:
    sender = WebhookDispatcher(app_key="key", app_secret="secret", clock=clock, default_url=webhook_receiver.url,
                               receiver_timeout=0.2)
    sender.start()
    try:
        webhook_receiver.delay_seconds = 0.6
        delivery = sender.publish("1", 12, RETURN_DATA)
        wait_until(lambda: len(delivery.attempts) == 1)
        assert delivery.attempts[0]["error"] == "ReadTimeout"
        assert delivery.state == "pending"
    finally:
        sender.stop()


def test_publishing_never_waits_for_the_receiver(dispatcher: WebhookDispatcher, webhook_receiver: Any) -> None:
    webhook_receiver.delay_seconds = 0.5
    started = time.perf_counter()
    for _ in range(10):
        dispatcher.publish("1", 12, RETURN_DATA)
    assert time.perf_counter() - started < 0.1


def test_shop_subscription_overrides_the_default_url_for_its_event_type(
    dispatcher: WebhookDispatcher, webhook_receiver: Any
) -> None:
    dispatcher.subscribe("42", "RETURN_STATUS_CHANGE", webhook_receiver.url.replace("/webhooks", "/returns"))
    dispatcher.publish("42", 12, RETURN_DATA)
    dispatcher.publish("42", 11, {"cancel_id": "1"})
    received = webhook_receiver.wait_for(2)
    assert {r.path: r.json["type"] for r in received} == {"/returns": 12, "/webhooks": 11}


def test_without_any_address_nothing_is_sent(clock: Clock) -> None:
    sender = WebhookDispatcher(app_key="key", app_secret="secret", clock=clock)
    assert sender.publish("1", 12, RETURN_DATA) is None
    assert sender.unaddressed == 1
    assert sender.deliveries() == []


def test_drop_knob_loses_the_notification(dispatcher: WebhookDispatcher, webhook_receiver: Any) -> None:
    dispatcher.chaos.update({"drop_probability": 1.0})
    delivery = dispatcher.publish("1", 12, RETURN_DATA)
    time.sleep(0.2)
    assert delivery.state == "dropped"
    assert webhook_receiver.received == []


def test_duplicate_knob_sends_the_same_notification_twice(
    dispatcher: WebhookDispatcher, webhook_receiver: Any
) -> None:
    dispatcher.chaos.update({"duplicate_probability": 1.0})
    dispatcher.publish("1", 12, RETURN_DATA)
    first, second = webhook_receiver.wait_for(2)
    assert first.body == second.body
    assert first.headers["authorization"] == second.headers["authorization"]


def test_delay_knob_holds_delivery_for_the_business_delay(
    dispatcher: WebhookDispatcher, webhook_receiver: Any, clock: Clock
) -> None:
    dispatcher.chaos.update({"delay_probability": 1.0, "delay_seconds": 600})
    dispatcher.publish("1", 12, RETURN_DATA)
    time.sleep(0.2)
    assert webhook_receiver.received == []
    clock.advance(600)
    webhook_receiver.wait_for(1)


def test_reorder_knob_delivers_a_notification_after_the_next_one(
    dispatcher: WebhookDispatcher, webhook_receiver: Any
) -> None:
    dispatcher.chaos.update({"reorder_probability": 1.0})
    dispatcher.publish("1", 12, {**RETURN_DATA, "return_id": "first"})
    dispatcher.chaos.update({"reorder_probability": 0.0})
    dispatcher.publish("1", 12, {**RETURN_DATA, "return_id": "second"})
    received = webhook_receiver.wait_for(2)
    assert [r.json["data"]["return_id"] for r in received] == ["second", "first"]


def test_each_chaos_knob_that_fires_is_counted_in_the_settings(
    dispatcher: WebhookDispatcher, webhook_receiver: Any
) -> None:
    dispatcher.chaos.update({"drop_probability": 1.0})
    dispatcher.publish("1", 12, RETURN_DATA)
    dispatcher.chaos.update({"drop_probability": 0.0, "duplicate_probability": 1.0, "delay_probability": 1.0,
                             "delay_seconds": 0.0})
    dispatcher.publish("1", 12, RETURN_DATA)
    webhook_receiver.wait_for(2)
    assert dispatcher.settings()["chaos_applied"] == {"dropped": 1, "delayed": 1, "reordered": 0, "duplicated": 1}


def test_chaos_settings_reject_unknown_names_and_bad_probabilities(dispatcher: WebhookDispatcher) -> None:
    with pytest.raises(ValueError):
        dispatcher.chaos.update({"explode_probability": 0.5})
    with pytest.raises(ValueError):
        dispatcher.chaos.update({"drop_probability": 1.5})


def test_delivery_log_shows_the_payload_newest_first(dispatcher: WebhookDispatcher, webhook_receiver: Any) -> None:
    dispatcher.publish("1", 12, {"return_id": "a"})
    dispatcher.publish("2", 11, {"cancel_id": "b"})
    webhook_receiver.wait_for(2)
    log = dispatcher.deliveries()
    assert [d["payload"]["data"] for d in log] == [{"cancel_id": "b"}, {"return_id": "a"}]
    assert [d["shop_id"] for d in dispatcher.deliveries(shop_id="1")] == ["1"]
    assert orjson.dumps(log)  # JSON-ready for the control API
