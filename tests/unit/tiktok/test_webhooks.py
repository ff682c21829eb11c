"""Webhook envelope parsing and typed accessors."""

from __future__ import annotations

import json

import pytest

from returnbridge.tiktok import MalformedWebhook, parse_webhook
from returnbridge.tiktok.enums import WebhookType


def body(event_type: int, data: dict[str, object]) -> bytes:
    return json.dumps(
        {
            "type": event_type,
            "tts_notification_id": "7380066284010030890",
            "shop_id": "7495540735365777507",
            "timestamp": 1718305585,
            "data": data,
        }
    ).encode()


def test_return_status_change_is_typed() -> None:
    event = parse_webhook(
        body(
            12,
            {
                "order_id": "o1",
                "return_role": "BUYER",
                "return_type": "REFUND",
                "return_status": "RETURN_OR_REFUND_REQUEST_PENDING",
                "return_id": "r1",
                "create_time": 1718305500,
                "update_time": 1718305585,
            },
        )
    )
    assert event.type == WebhookType.RETURN_STATUS_CHANGE
    change = event.return_status_change()
    assert (change.return_id, change.return_status, change.update_time) == (
        "r1",
        "RETURN_OR_REFUND_REQUEST_PENDING",
        1718305585,
    )


def test_cancellation_status_change_is_typed() -> None:
    event = parse_webhook(
        body(
            11,
            {
                "order_id": "o1",
                "cancellations_role": "BUYER",
                "cancel_status": "CANCELLATION_REQUEST_CANCELLED",
                "cancel_id": "c1",
                "create_time": 1,
            },
        )
    )
    change = event.cancellation_status_change()
    assert (change.cancel_id, change.cancel_status) == ("c1", "CANCELLATION_REQUEST_CANCELLED")


def test_authorization_events_are_typed() -> None:
    assert parse_webhook(body(6, {"message": "revoked"})).seller_deauthorization().message == "revoked"
    upcoming = parse_webhook(
        body(7, {"message": "soon", "expiration_time": 1720000000})
    ).upcoming_authorization_expiration()
    assert upcoming.expiration_time == 1720000000


def test_envelope_fields_are_read() -> None:
    event = parse_webhook(body(1, {"order_id": "o1", "order_status": "CANCEL", "extra": 1}))
    assert event.tts_notification_id == "7380066284010030890"
    assert event.shop_id == "7495540735365777507"
    assert event.sent_at.timestamp() == 1718305585
    assert event.order_status_change().order_status == "CANCEL"


def test_accessor_for_another_type_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_webhook(body(6, {"message": "x"})).return_status_change()


def test_malformed_json_raises_malformed_webhook() -> None:
    with pytest.raises(MalformedWebhook):
        parse_webhook(b"{not json")


def test_missing_envelope_field_raises_malformed_webhook_naming_it() -> None:
    with pytest.raises(MalformedWebhook, match="tts_notification_id"):
        parse_webhook(b'{"type":12,"shop_id":"1","timestamp":1,"data":{}}')


def test_malformed_webhook_is_a_value_error() -> None:
    assert issubclass(MalformedWebhook, ValueError)
