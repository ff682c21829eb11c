"""Cancellations in the emulator's World: buyer requests, Approve/Reject Cancellation and Cancel Order (§3.9–3.12)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from returnbridge.emulators.tiktok.clock import Clock
from returnbridge.emulators.tiktok.errors import ApiError
from returnbridge.emulators.tiktok.model import Shop
from returnbridge.emulators.tiktok.world import World

START = 1_760_000_000
CANCEL_REJECT_REASON = "seller_reject_apply_product_has_been_packed"


@pytest.fixture
def world() -> World:
    return World(seed=31, clock=Clock(start=START, monotonic=lambda: 0.0))


def shop_in(world: World, region: str) -> Shop:
    return next(s for s in world.shops() if s.region == region)


@pytest.fixture
def us(world: World) -> Shop:
    return shop_in(world, "US")


@pytest.fixture
def gb(world: World) -> Shop:
    return shop_in(world, "GB")


@pytest.fixture
def my(world: World) -> Shop:
    return shop_in(world, "MY")


def plain(data: Any) -> Any:
    return orjson.loads(orjson.dumps(data))


def code_of(call: Callable[[], Any]) -> int:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.code


def order_of(world: World, shop: Shop, order_id: str) -> dict:
    return plain(world.get_orders(shop, {"ids": order_id}))["orders"][0]


def buyer_cancel(world: World, shop: Shop, **options: Any) -> dict:
    return world.create_cancellation_request(shop, **options)


# --- buyer requests ----------------------------------------------------------------------------------------


def test_buyer_cancel_of_a_paid_order_waits_for_the_seller(world: World, us: Shop) -> None:
    cancel = buyer_cancel(world, us)
    assert cancel["cancel_type"] == "BUYER_CANCEL"
    assert cancel["cancel_status"] == "CANCELLATION_REQUEST_PENDING"
    assert cancel["seller_next_action_response"] == [
        {"action": "SELLER_RESPOND_CANCEL", "deadline": cancel["create_time"] + 48 * 3600}]
    assert order_of(world, us, cancel["order_id"])["is_buyer_request_cancel"] is True


def test_buyer_cancel_of_an_unpaid_order_succeeds_at_once_with_nothing_to_refund(world: World, us: Shop) -> None:
    order = world.create_order(us, status="UNPAID")
    cancel = buyer_cancel(world, us, order_id=order["id"])
    assert cancel["cancel_status"] == "CANCELLATION_REQUEST_SUCCESS"
    assert cancel["refund_amount"]["refund_total"] == "0.00"
    assert order_of(world, us, order["id"])["status"] == "CANCELLED"


def test_uk_buyer_cancel_of_an_on_hold_order_is_approved_at_once(world: World, gb: Shop) -> None:
    order = world.create_order(gb, status="ON_HOLD")
    assert buyer_cancel(world, gb, order_id=order["id"])["cancel_status"] == "CANCELLATION_REQUEST_SUCCESS"


def test_buyer_cannot_cancel_after_collection(world: World, us: Shop) -> None:
    order = world.create_order(us, status="AWAITING_COLLECTION")
    with pytest.raises(ValueError):
        buyer_cancel(world, us, order_id=order["id"])


def test_cancellation_refund_is_the_whole_paid_amount(world: World, us: Shop) -> None:
    order = world.create_order(us, units=2, status="AWAITING_SHIPMENT")
    cancel = buyer_cancel(world, us, order_id=order["id"])
    p = order["payment"]
    refunded = cancel["refund_amount"]
    assert refunded["refund_subtotal"] == p["sub_total"]
    assert refunded["refund_shipping_fee"] == p["shipping_fee"]
    assert refunded["refund_tax"] == p["tax"]
    assert len(cancel["cancel_line_items"]) == 2
    assert {x["order_line_item_id"] for x in cancel["cancel_line_items"]} == {x["id"] for x in order["line_items"]}


# --- approve / reject --------------------------------------------------------------------------------------


def test_approve_cancellation_cancels_the_order(world: World, us: Shop) -> None:
    cancel = buyer_cancel(world, us)
    assert world.approve_cancellation(us, cancel["cancel_id"], {}) == {}
    found = world.find_request(cancel["cancel_id"])
    assert found is not None and found["cancel_status"] == "CANCELLATION_REQUEST_SUCCESS"
    order = order_of(world, us, cancel["order_id"])
    assert order["status"] == "CANCELLED" and order["cancellation_initiator"] == "BUYER"
    assert order["is_buyer_request_cancel"] is False


def test_approve_cancellation_accepts_an_absent_body(world: World, us: Shop) -> None:
    cancel = buyer_cancel(world, us)
    assert world.approve_cancellation(us, cancel["cancel_id"], None) == {}  # type: ignore[arg-type]


def test_reject_cancellation_closes_the_request_and_keeps_the_order(world: World, us: Shop) -> None:
    cancel = buyer_cancel(world, us)
    world.reject_cancellation(us, cancel["cancel_id"], {"reject_reason": CANCEL_REJECT_REASON})
    found = world.find_request(cancel["cancel_id"])
    assert found is not None and found["cancel_status"] == "CANCELLATION_REQUEST_CANCEL"
    assert order_of(world, us, cancel["order_id"])["status"] == "AWAITING_SHIPMENT"


def test_approving_twice_fails_with_25011012(world: World, us: Shop) -> None:
    cancel = buyer_cancel(world, us)
    world.approve_cancellation(us, cancel["cancel_id"], {})
    assert code_of(lambda: world.approve_cancellation(us, cancel["cancel_id"], {})) == 25011012


def test_approving_a_withdrawn_cancellation_fails_with_25020009(world: World, us: Shop) -> None:
    cancel = buyer_cancel(world, us)
    world.buyer_withdraw(cancel["cancel_id"])
    assert code_of(lambda: world.approve_cancellation(us, cancel["cancel_id"], {})) == 25020009


def test_rejecting_a_withdrawn_cancellation_fails_with_25011011(world: World, us: Shop) -> None:
    cancel = buyer_cancel(world, us)
    world.buyer_withdraw(cancel["cancel_id"])
    body = {"reject_reason": CANCEL_REJECT_REASON}
    assert code_of(lambda: world.reject_cancellation(us, cancel["cancel_id"], body)) == 25011011


def test_rejecting_an_approved_cancellation_fails_with_25020010(world: World, us: Shop) -> None:
    cancel = buyer_cancel(world, us)
    world.approve_cancellation(us, cancel["cancel_id"], {})
    body = {"reject_reason": CANCEL_REJECT_REASON}
    assert code_of(lambda: world.reject_cancellation(us, cancel["cancel_id"], body)) == 25020010


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_decisions_on_a_direct_cancel_fail_with_25020004(world: World, us: Shop, action: str) -> None:
    order = world.create_order(us, status="AWAITING_SHIPMENT")
    cancel_id = world.cancel_order(us, {"order_id": order["id"], "cancel_reason": "seller_cancel_reason_out_of_stock"})[
        "cancel_id"]
    if action == "approve":
        assert code_of(lambda: world.approve_cancellation(us, cancel_id, {})) == 25020004
    else:
        body = {"reject_reason": CANCEL_REJECT_REASON}
        assert code_of(lambda: world.reject_cancellation(us, cancel_id, body)) == 25020004


def test_approving_after_the_seller_shipped_fails_with_25001045(world: World, my: Shop) -> None:
    cancel = buyer_cancel(world, my)
    world.ship_order(cancel["order_id"])
    assert code_of(lambda: world.approve_cancellation(my, cancel["cancel_id"], {})) == 25001045


def test_rejecting_after_the_seller_shipped_fails_with_25020003(world: World, my: Shop) -> None:
    cancel = buyer_cancel(world, my)
    world.ship_order(cancel["order_id"])
    body = {"reject_reason": CANCEL_REJECT_REASON}
    assert code_of(lambda: world.reject_cancellation(my, cancel["cancel_id"], body)) == 25020003


def test_shipping_closes_a_pending_us_buyer_cancellation(world: World, us: Shop) -> None:
    cancel = buyer_cancel(world, us)
    world.ship_order(cancel["order_id"])
    found = world.find_request(cancel["cancel_id"])
    assert found is not None and found["cancel_status"] == "CANCELLATION_REQUEST_CANCEL"


@pytest.mark.parametrize("reason,code", [
    ("not_a_reason", 25001014),
    ("reverse_reject_return_parcel_reason_1", 25001016),
])
def test_wrong_cancellation_reject_reason_fails(world: World, us: Shop, reason: str, code: int) -> None:
    cancel = buyer_cancel(world, us)
    assert code_of(lambda: world.reject_cancellation(us, cancel["cancel_id"], {"reject_reason": reason})) == code


@pytest.mark.parametrize("body", [{}, {"reject_reason": 1}, {"reject_reason": CANCEL_REJECT_REASON, "images": {}}])
def test_malformed_reject_cancellation_body_fails_with_25001001(world: World, us: Shop, body: dict) -> None:
    cancel = buyer_cancel(world, us)
    assert code_of(lambda: world.reject_cancellation(us, cancel["cancel_id"], body)) == 25001001


def test_cancellation_of_another_shop_fails_with_25020005(world: World, us: Shop, gb: Shop) -> None:
    cancel = buyer_cancel(world, gb)
    assert code_of(lambda: world.approve_cancellation(us, cancel["cancel_id"], {})) == 25020005


def test_reject_reasons_for_a_pending_cancellation(world: World, us: Shop) -> None:
    cancel = buyer_cancel(world, us)
    names = [r["name"] for r in world.reject_reasons(us, {"return_or_cancel_id": cancel["cancel_id"]})["reasons"]]
    assert CANCEL_REJECT_REASON in names and "seller_reject_apply_unable_to_change_address" in names


# --- seller Cancel Order -----------------------------------------------------------------------------------


def test_seller_cancel_order_is_successful_at_once(world: World, us: Shop) -> None:
    order = world.create_order(us, units=2, status="AWAITING_SHIPMENT")
    result = world.cancel_order(us, {"order_id": order["id"], "cancel_reason": "seller_cancel_reason_out_of_stock"})
    assert result["cancel_status"] == "CANCELLATION_REQUEST_SUCCESS"
    found = world.find_request(result["cancel_id"])
    assert found is not None and found["cancel_type"] == "CANCEL" and found["role"] == "SELLER"
    cancelled = order_of(world, us, order["id"])
    assert cancelled["status"] == "CANCELLED" and cancelled["cancellation_initiator"] == "SELLER"


def test_partial_cancel_of_us_lines_keeps_the_order(world: World, us: Shop) -> None:
    order = world.create_order(us, units=3, status="AWAITING_SHIPMENT")
    line = order["line_items"][1]["id"]
    result = world.cancel_order(us, {"order_id": order["id"], "cancel_reason": "seller_cancel_reason_out_of_stock",
                                     "order_line_item_ids": [line]})
    found = world.find_request(result["cancel_id"])
    assert found is not None and [x["order_line_item_id"] for x in found["cancel_line_items"]] == [line]
    after = order_of(world, us, order["id"])
    assert after["status"] == "AWAITING_SHIPMENT"
    assert [x["display_status"] for x in after["line_items"]] == ["AWAITING_SHIPMENT", "CANCELLED",
                                                                  "AWAITING_SHIPMENT"]


def test_partial_cancel_outside_us_and_uk_fails_with_25005010(world: World, my: Shop) -> None:
    order = world.create_order(my, units=2, status="AWAITING_SHIPMENT")
    body = {"order_id": order["id"], "cancel_reason": "seller_cancel_reason_out_of_stock",
            "order_line_item_ids": [order["line_items"][0]["id"]]}
    assert code_of(lambda: world.cancel_order(my, body)) == 25005010


@pytest.mark.parametrize("status,code", [
    ("IN_TRANSIT", 25001045),
    ("DELIVERED", 25001045),
    ("COMPLETED", 25001051),
    ("UNPAID", 25001021),
])
def test_seller_cancel_in_a_wrong_order_status_fails(world: World, us: Shop, status: str, code: int) -> None:
    order = world.create_order(us, status=status)
    reason = "seller_cancel_unpaid_reason_out_of_stock" if status == "UNPAID" else "seller_cancel_reason_out_of_stock"
    assert code_of(lambda: world.cancel_order(us, {"order_id": order["id"], "cancel_reason": reason})) == code


def test_cancelling_a_cancelled_order_fails_with_25001011(world: World, us: Shop) -> None:
    order = world.create_order(us, status="AWAITING_SHIPMENT")
    body = {"order_id": order["id"], "cancel_reason": "seller_cancel_reason_out_of_stock"}
    world.cancel_order(us, body)
    assert code_of(lambda: world.cancel_order(us, body)) == 25001011


def test_seller_cancel_while_a_buyer_request_is_pending_fails_with_25001011(world: World, us: Shop) -> None:
    cancel = buyer_cancel(world, us)
    body = {"order_id": cancel["order_id"], "cancel_reason": "seller_cancel_reason_out_of_stock"}
    assert code_of(lambda: world.cancel_order(us, body)) == 25001011


@pytest.mark.parametrize("reason,code", [
    ("no_such_reason", 25001014),
    ("ecom_order_to_ship_canceled_reason_no_longer_needed", 25001015),
    ("seller_cancel_unpaid_reason_out_of_stock", 25001021),
])
def test_wrong_cancel_reason_fails(world: World, us: Shop, reason: str, code: int) -> None:
    order = world.create_order(us, status="AWAITING_SHIPMENT")
    assert code_of(lambda: world.cancel_order(us, {"order_id": order["id"], "cancel_reason": reason})) == code


@pytest.mark.parametrize("body,code", [
    ({"cancel_reason": "seller_cancel_reason_out_of_stock"}, 25001001),
    ({"order_id": "570099999999999999", "cancel_reason": "seller_cancel_reason_out_of_stock"}, 25007006),
    ({"order_id": 57, "cancel_reason": "seller_cancel_reason_out_of_stock"}, 25001001),
])
def test_cancel_order_with_bad_order_fails(world: World, us: Shop, body: dict, code: int) -> None:
    assert code_of(lambda: world.cancel_order(us, body)) == code


def test_cancel_order_of_another_shop_fails_with_25020005(world: World, us: Shop, gb: Shop) -> None:
    order = world.create_order(gb, status="AWAITING_SHIPMENT")
    body = {"order_id": order["id"], "cancel_reason": "seller_cancel_reason_out_of_stock"}
    assert code_of(lambda: world.cancel_order(us, body)) == 25020005


def test_cancel_order_with_too_many_units_fails_with_25005011(world: World, us: Shop) -> None:
    order = world.create_order(us, units=1, status="AWAITING_SHIPMENT")
    body = {"order_id": order["id"], "cancel_reason": "seller_cancel_reason_out_of_stock",
            "skus": [{"sku_id": order["line_items"][0]["sku_id"], "quantity": 2}]}
    assert code_of(lambda: world.cancel_order(us, body)) == 25005011
