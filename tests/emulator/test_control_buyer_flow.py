"""Buyer and platform actions through the control API, the seller's answers through the open API, and the
webhooks and deadlines that follow (the World's state machines seen from outside)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

SEARCH = "/return_refund/202309/returns/search"


@pytest.fixture
def server(emulator_factory: Any, webhook_receiver: Any) -> Any:
    return emulator_factory(webhook_url=webhook_receiver.url, rps=0)


def shop_of(server: Any, control_api: Any, client: Any) -> dict:
    return next(s for s in control_api(server, "GET", "/shops")["shops"] if s["cipher"] == client.shop_cipher)


def open_return(server: Any, control_api: Any, shop: dict, return_type: str = "RETURN_AND_REFUND") -> dict:
    return control_api(server, "POST", "/returns", {"shop_id": shop["id"], "return_type": return_type})


def statuses_received(receiver: Any, return_id: str) -> list[str]:
    return [r.json["data"]["return_status"] for r in receiver.received
            if r.json["type"] == 12 and r.json["data"]["return_id"] == return_id]


def wait_for_status(receiver: Any, return_id: str, status: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if status in statuses_received(receiver, return_id):
            return
        time.sleep(0.02)
    raise AssertionError(f"no webhook with {status}; got {statuses_received(receiver, return_id)}")


def test_a_return_from_request_to_refund_sends_a_webhook_per_status(
    server: Any, make_client: Any, control_api: Any, webhook_receiver: Any
) -> None:
    client = make_client(server)
    shop = shop_of(server, control_api, client)
    opened = open_return(server, control_api, shop)
    return_id = opened["return_id"]
    assert opened["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING"
    wait_for_status(webhook_receiver, return_id, "RETURN_OR_REFUND_REQUEST_PENDING")

    found = client.call("POST", SEARCH, json={"return_ids": [return_id]})["data"]["return_orders"]
    assert [r["return_id"] for r in found] == [return_id]

    approve = f"/return_refund/202309/returns/{return_id}/approve"
    assert client.call("POST", approve, json={"decision": "APPROVE_RETURN"})["code"] == 0
    wait_for_status(webhook_receiver, return_id, "AWAITING_BUYER_SHIP")
    shipped = control_api(server, "POST", f"/returns/{return_id}/ship", {"tracking_number": "1Z999"})
    assert shipped["return_status"] == "BUYER_SHIPPED_ITEM"
    assert client.call("POST", approve, json={"decision": "APPROVE_RECEIVED_PACKAGE"})["code"] == 0
    wait_for_status(webhook_receiver, return_id, "RETURN_OR_REFUND_REQUEST_SUCCESS")
    completed = control_api(server, "POST", f"/requests/{return_id}/complete_refund", {})
    assert completed["return_status"] == "RETURN_OR_REFUND_REQUEST_COMPLETE"
    wait_for_status(webhook_receiver, return_id, "RETURN_OR_REFUND_REQUEST_COMPLETE")
    assert control_api(server, "GET", f"/requests/{return_id}")["return_status"] == (
        "RETURN_OR_REFUND_REQUEST_COMPLETE"
    )


def test_clock_advance_applies_the_48_hour_auto_approval_at_once(
    server: Any, make_client: Any, control_api: Any, webhook_receiver: Any
) -> None:
    client = make_client(server)
    return_id = open_return(server, control_api, shop_of(server, control_api, client), "REFUND")["return_id"]
    control_api(server, "POST", "/clock/advance", {"seconds": 48 * 3600 + 1})
    assert control_api(server, "GET", f"/requests/{return_id}")["return_status"] != (
        "RETURN_OR_REFUND_REQUEST_PENDING"
    )
    wait_for_status(webhook_receiver, return_id, "RETURN_OR_REFUND_REQUEST_SUCCESS")


def test_the_ticker_applies_deadlines_as_business_time_passes(
    emulator_factory: Any, make_client: Any, control_api: Any, webhook_receiver: Any
) -> None:
    server = emulator_factory(webhook_url=webhook_receiver.url, rps=0, time_scale=400_000)  # 48 h ≈ 0.43 s
    client = make_client(server)
    return_id = open_return(server, control_api, shop_of(server, control_api, client), "REFUND")["return_id"]
    wait_for_status(webhook_receiver, return_id, "RETURN_OR_REFUND_REQUEST_SUCCESS", timeout=5)


def test_successful_idempotent_approve_is_replayed_not_repeated(
    server: Any, make_client: Any, control_api: Any
) -> None:
    client = make_client(server)
    return_id = open_return(server, control_api, shop_of(server, control_api, client), "REFUND")["return_id"]
    approve = f"/return_refund/202309/returns/{return_id}/approve"
    key = {"idempotency_key": str(uuid.uuid4())}
    first = client.request("POST", approve, json={"decision": "APPROVE_REFUND"}, query=key)
    assert first.json()["code"] == 0
    replay = client.request("POST", approve, json={"decision": "APPROVE_REFUND"}, query=key)
    assert replay.content == first.content
    again = client.call("POST", approve, json={"decision": "APPROVE_REFUND"})
    assert again["code"] != 0  # without the key the second approve meets the new status


def test_buyer_withdraw_closes_the_request(server: Any, make_client: Any, control_api: Any) -> None:
    client = make_client(server)
    return_id = open_return(server, control_api, shop_of(server, control_api, client))["return_id"]
    withdrawn = control_api(server, "POST", f"/requests/{return_id}/withdraw", {})
    assert withdrawn["return_status"] == "RETURN_OR_REFUND_REQUEST_CANCEL"


def test_escalation_and_arbitration_for_the_buyer(server: Any, make_client: Any, control_api: Any) -> None:
    client = make_client(server)
    return_id = open_return(server, control_api, shop_of(server, control_api, client), "REFUND")["return_id"]
    reasons = client.call("GET", "/return_refund/202309/reject_reasons",
                          query={"return_or_cancel_id": return_id})["data"]["reasons"]
    rejected = client.call("POST", f"/return_refund/202309/returns/{return_id}/reject",
                           json={"decision": "REJECT_REFUND", "reject_reason": reasons[0]["name"]})
    assert rejected["code"] == 0, rejected
    escalated = control_api(server, "POST", f"/returns/{return_id}/escalate", {})
    assert escalated["arbitration_status"] == "IN_PROGRESS"
    decided = control_api(server, "POST", f"/returns/{return_id}/arbitration", {"winner": "BUYER"})
    assert decided["arbitration_status"] == "SUPPORT_BUYER"


def test_buyer_accepts_a_partial_refund_offer(server: Any, make_client: Any, control_api: Any) -> None:
    client = make_client(server)
    shop = shop_of(server, control_api, client)
    return_id = open_return(server, control_api, shop, "REFUND")["return_id"]
    record = control_api(server, "GET", f"/requests/{return_id}")
    amount = record["refund_amount"]
    offer = client.call("POST", f"/return_refund/202309/returns/{return_id}/approve", json={
        "decision": "OFFER_PARTIAL_REFUND",
        "partial_refund": {"amount": "1" if shop["currency"] == "IDR" else "1.00", "currency": amount["currency"]}})
    assert offer["code"] == 0, offer
    answered = control_api(server, "POST", f"/returns/{return_id}/partial_refund_response", {"accept": True})
    assert answered["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS"


def test_buyer_cancellation_request_can_be_approved_without_a_body(
    server: Any, make_client: Any, control_api: Any, webhook_receiver: Any
) -> None:
    client = make_client(server)
    shop = shop_of(server, control_api, client)
    cancel = control_api(server, "POST", "/cancellations", {"shop_id": shop["id"]})
    cancel_id = cancel["cancel_id"]
    assert cancel["cancel_status"] == "CANCELLATION_REQUEST_PENDING"
    body = client.call("POST", f"/return_refund/202309/cancellations/{cancel_id}/approve", content=None)
    assert body["code"] == 0, body
    webhook_receiver.wait_for(2)
    assert any(r.json["type"] == 11 and r.json["data"]["cancel_id"] == cancel_id for r in webhook_receiver.received)


def test_invalid_transition_is_a_409_with_the_worlds_message(server: Any, make_client: Any,
                                                             control_api: Any) -> None:
    client = make_client(server)
    return_id = open_return(server, control_api, shop_of(server, control_api, client))["return_id"]
    response = httpx.post(f"{server.base_url}/_emulator/returns/{return_id}/escalate", json={})
    assert response.status_code == 409
    assert "escalate" in response.json()["error"]["message"]


def test_actions_on_unknown_ids_are_404(server: Any) -> None:
    assert httpx.post(f"{server.base_url}/_emulator/returns/123/ship", json={}).status_code == 404
    assert httpx.post(f"{server.base_url}/_emulator/requests/123/withdraw", json={}).status_code == 404
