"""Buyer and platform actions the control API drives in the emulator's World, plus shops and read-back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from returnbridge.emulators.tiktok.clock import Clock
from returnbridge.emulators.tiktok.errors import ApiError
from returnbridge.emulators.tiktok.model import Shop
from returnbridge.emulators.tiktok.world import World

START = 1_760_000_000
REQUEST_REASON = "seller_reject_apply_item_is_correct"
PARCEL_REASON = "reverse_reject_return_parcel_reason_2"


@pytest.fixture
def world() -> World:
    return World(seed=71, clock=Clock(start=START, monotonic=lambda: 0.0))


@pytest.fixture
def us(world: World) -> Shop:
    return next(s for s in world.shops() if s.region == "US")


def state_of(world: World, request_id: str) -> dict:
    found = world.find_request(request_id)
    assert found is not None
    return found


def disputed(world: World, shop: Shop, return_type: str = "RETURN_AND_REFUND", parcel: bool = False) -> str:
    return_id = world.create_return_request(shop, return_type=return_type)["return_id"]
    if parcel:
        world.approve_return(shop, return_id, {"decision": "APPROVE_RETURN"})
        world.buyer_ship(return_id)
        world.reject_return(shop, return_id, {"decision": "REJECT_RECEIVED_PACKAGE", "reject_reason": PARCEL_REASON})
    else:
        decision = {"REFUND": "REJECT_REFUND", "REPLACEMENT": "REJECT_REPLACEMENT"}.get(return_type, "REJECT_RETURN")
        world.reject_return(shop, return_id, {"decision": decision, "reject_reason": REQUEST_REASON})
    world.buyer_escalate(return_id)
    return return_id


def refused(call: Callable[[], Any]) -> None:
    with pytest.raises(ValueError):
        call()


# --- opening requests ----------------------------------------------------------------------------------------


def test_buyer_request_without_an_order_makes_a_delivered_order(world: World, us: Shop) -> None:
    created = world.create_return_request(us, units=2)
    order = world.snapshot(us)["orders"][-1]
    assert order["id"] == created["order_id"] and order["status"] == "DELIVERED"
    assert len(created["return_line_items"]) == 2
    assert created["return_reason"] == "ecom_order_delivered_refund_and_return_reason_damaged"


def test_buyer_request_on_an_existing_order_uses_its_free_units(world: World, us: Shop) -> None:
    order = world.create_order(us, units=3)
    first = world.create_return_request(us, order_id=order["id"], units=2)
    second = world.create_return_request(us, order_id=order["id"], units=1)
    lines = [x["order_line_item_id"] for x in first["return_line_items"] + second["return_line_items"]]
    assert sorted(lines) == sorted(x["id"] for x in order["line_items"])
    refused(lambda: world.create_return_request(us, order_id=order["id"]))


def test_buyer_request_with_a_chosen_reason(world: World, us: Shop) -> None:
    reason = "ecom_order_delivered_refund_and_return_reason_no_need"
    assert world.create_return_request(us, reason=reason)["return_reason"] == reason
    refused(lambda: world.create_return_request(us, reason="seller_ecom_delivered_return_refund_reason1"))


def test_buyer_cannot_open_a_return_before_delivery(world: World, us: Shop) -> None:
    order = world.create_order(us, status="AWAITING_SHIPMENT")
    refused(lambda: world.create_return_request(us, order_id=order["id"]))


def test_refund_request_on_a_parcel_in_transit_uses_the_late_delivery_reason(world: World, us: Shop) -> None:
    order = world.create_order(us, status="IN_TRANSIT")
    created = world.create_return_request(us, return_type="REFUND", order_id=order["id"])
    assert created["return_reason"] == "ecom_order_shipped_refund_reason_not_arrive_on_time"


def test_exchanges_exist_only_in_the_us_and_uk(world: World, us: Shop) -> None:
    assert world.create_return_request(us, return_type="EXCHANGE")["return_status"] == "EXCHANGE_REQUEST_PENDING"
    indonesia = next(s for s in world.shops() if s.region == "ID")
    refused(lambda: world.create_return_request(indonesia, return_type="EXCHANGE"))


def test_foreign_order_is_refused(world: World, us: Shop) -> None:
    other = next(s for s in world.shops() if s.region == "GB")
    order = world.create_order(other)
    refused(lambda: world.create_return_request(us, order_id=order["id"]))


# --- buyer actions -------------------------------------------------------------------------------------------


def test_buyer_ship_records_the_tracking_number(world: World, us: Shop) -> None:
    return_id = world.create_return_request(us)["return_id"]
    world.approve_return(us, return_id, {"decision": "APPROVE_RETURN"})
    shipped = world.buyer_ship(return_id, tracking_number="9400111899223344556677")
    assert shipped["return_status"] == "BUYER_SHIPPED_ITEM"
    assert shipped["return_tracking_number"] == "9400111899223344556677"
    assert shipped["return_provider_name"] and shipped["return_provider_id"]
    assert shipped["seller_next_action_response"][0]["action"] == "SELLER_RESPOND_RECEIVE_PACKAGE"


def test_buyer_cannot_ship_before_approval(world: World, us: Shop) -> None:
    return_id = world.create_return_request(us)["return_id"]
    refused(lambda: world.buyer_ship(return_id))


@pytest.mark.parametrize("return_type,closed", [
    ("RETURN_AND_REFUND", "RETURN_OR_REFUND_REQUEST_CANCEL"),
    ("REPLACEMENT", "REPLACEMENT_REQUEST_CANCEL"),
    ("EXCHANGE", "EXCHANGE_REQUEST_CANCEL"),
])
def test_buyer_withdraws_a_pending_request(world: World, us: Shop, return_type: str, closed: str) -> None:
    return_id = world.create_return_request(us, return_type=return_type)["return_id"]
    assert world.buyer_withdraw(return_id)["return_status"] == closed


def test_withdrawing_during_arbitration_closes_it(world: World, us: Shop) -> None:
    closed = world.buyer_withdraw(disputed(world, us))
    assert closed["return_status"] == "RETURN_OR_REFUND_REQUEST_CANCEL"
    assert closed["arbitration_status"] == "CLOSED"


def test_buyer_cannot_withdraw_a_shipped_return(world: World, us: Shop) -> None:
    return_id = world.create_return_request(us)["return_id"]
    world.approve_return(us, return_id, {"decision": "APPROVE_RETURN"})
    world.buyer_ship(return_id)
    refused(lambda: world.buyer_withdraw(return_id))


def test_buyer_withdraws_a_pending_cancellation(world: World, us: Shop) -> None:
    cancel = world.create_cancellation_request(us)
    assert world.buyer_withdraw(cancel["cancel_id"])["cancel_status"] == "CANCELLATION_REQUEST_CANCEL"


def test_escalation_needs_a_rejection(world: World, us: Shop) -> None:
    return_id = world.create_return_request(us)["return_id"]
    refused(lambda: world.buyer_escalate(return_id))
    world.reject_return(us, return_id, {"decision": "REJECT_RETURN", "reject_reason": REQUEST_REASON})
    assert world.buyer_escalate(return_id)["arbitration_status"] == "IN_PROGRESS"
    refused(lambda: world.buyer_escalate(return_id))


def test_escalated_request_awaits_nothing_from_the_seller(world: World, us: Shop) -> None:
    assert state_of(world, disputed(world, us))["seller_next_action_response"] == []


@pytest.mark.parametrize("return_type,parcel,status", [
    ("REFUND", False, "RETURN_OR_REFUND_REQUEST_SUCCESS"),
    ("RETURN_AND_REFUND", False, "AWAITING_BUYER_SHIP"),
    ("RETURN_AND_REFUND", True, "RETURN_OR_REFUND_REQUEST_SUCCESS"),
    ("REPLACEMENT", False, "REPLACEMENT_REQUEST_COMPLETE"),
])
def test_arbitration_won_by_the_buyer(world: World, us: Shop, return_type: str, parcel: bool, status: str) -> None:
    resolved = world.resolve_arbitration(disputed(world, us, return_type, parcel), "BUYER")
    assert resolved["return_status"] == status and resolved["arbitration_status"] == "SUPPORT_BUYER"
    assert world.return_records(us, resolved["return_id"], {})["records"][-1]["role"] == "OPERATOR"


@pytest.mark.parametrize("return_type,status", [
    ("REFUND", "RETURN_OR_REFUND_REQUEST_CANCEL"),
    ("REPLACEMENT", "REPLACEMENT_REQUEST_CANCEL"),
])
def test_arbitration_won_by_the_seller_closes_the_request(world: World, us: Shop, return_type: str,
                                                          status: str) -> None:
    resolved = world.resolve_arbitration(disputed(world, us, return_type), "SELLER")
    assert resolved["return_status"] == status and resolved["arbitration_status"] == "SUPPORT_SELLER"


def test_arbitration_needs_an_open_dispute_and_a_known_winner(world: World, us: Shop) -> None:
    return_id = world.create_return_request(us)["return_id"]
    refused(lambda: world.resolve_arbitration(return_id, "BUYER"))
    refused(lambda: world.resolve_arbitration(disputed(world, us), "NOBODY"))


def test_complete_refund_finishes_a_successful_return_now(world: World, us: Shop) -> None:
    return_id = world.create_return_request(us, return_type="REFUND")["return_id"]
    refused(lambda: world.complete_refund(return_id))
    world.approve_return(us, return_id, {"decision": "APPROVE_REFUND"})
    assert world.complete_refund(return_id)["return_status"] == "RETURN_OR_REFUND_REQUEST_COMPLETE"
    assert world.return_records(us, return_id, {})["records"][-1]["role"] == "SYSTEM"


def test_complete_refund_finishes_a_successful_cancellation(world: World, us: Shop) -> None:
    cancel = world.create_cancellation_request(us)
    world.approve_cancellation(us, cancel["cancel_id"], {})
    assert world.complete_refund(cancel["cancel_id"])["cancel_status"] == "CANCELLATION_REQUEST_COMPLETE"


def test_unknown_request_ids_are_refused_and_not_found(world: World) -> None:
    refused(lambda: world.buyer_withdraw("4035009999999999999"))
    assert world.find_request("4035009999999999999") is None
    assert world.find_request("not-an-id") is None


def test_deliver_order_moves_a_shipped_order_to_delivered(world: World, us: Shop) -> None:
    order = world.create_order(us, status="AWAITING_SHIPMENT")
    world.ship_order(order["id"])
    delivered = world.deliver_order(order["id"])
    assert delivered["status"] == "DELIVERED" and delivered["delivery_time"] == world.clock.now()
    refused(lambda: world.ship_order(order["id"]))


# --- shops, snapshot, locking -------------------------------------------------------------------------------


def test_add_shop_with_a_new_seller(world: World) -> None:
    shop = world.add_shop(region="VN", currency="VND", name="Saigon Goods")
    assert shop in world.shops() and world.shop_by_cipher(shop.cipher) == shop
    seller = next(s for s in world.sellers() if s.id == shop.seller_id)
    assert seller.shop_ids == [shop.id] and shop.seller_type == "LOCAL"
    assert world.snapshot(shop)["shops"][0]["order_count"] > 0


def test_add_shop_for_an_existing_seller(world: World, us: Shop) -> None:
    shop = world.add_shop(region="MY", currency="MYR", seller_id=us.seller_id)
    assert shop.id in next(s for s in world.sellers() if s.id == us.seller_id).shop_ids
    assert shop.seller_type == "CROSS_BORDER"
    assert world.create_return_request(shop)["refund_amount"]["currency"] == "MYR"


def test_add_shop_for_an_unknown_seller_is_refused(world: World) -> None:
    refused(lambda: world.add_shop(region="US", currency="USD", seller_id="nobody"))


def test_snapshot_of_one_shop_with_a_limit(world: World, us: Shop) -> None:
    world.seed_requests(us, 30, 5)
    state = world.snapshot(us, limit=10)
    assert [s["id"] for s in state["shops"]] == [us.id]
    assert len(state["returns"]) == 10 and len(state["cancellations"]) == 5
    assert all(r["shop_id"] == us.id for r in state["returns"])


def test_concurrent_approvals_of_one_return_succeed_once(world: World, us: Shop) -> None:
    return_id = world.create_return_request(us)["return_id"]
    outcomes: list[object] = []

    def approve() -> None:
        try:
            outcomes.append(world.approve_return(us, return_id, {"decision": "APPROVE_RETURN"}))
        except ApiError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=approve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count({}) == 1 and outcomes.count(25011012) == 7
