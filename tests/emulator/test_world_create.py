"""Create Return, Calculate Refund and Get Aftersale Eligibility in the emulator's World (§3.6–3.8)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest

from returnbridge.emulators.tiktok.clock import Clock
from returnbridge.emulators.tiktok.errors import ApiError
from returnbridge.emulators.tiktok.model import Shop
from returnbridge.emulators.tiktok.world import World

START = 1_760_000_000
SELLER_REFUND = "ecom_order_delivered_refund_reason_damaged_seller"
SELLER_RETURN = "seller_ecom_delivered_return_refund_reason1"


@pytest.fixture
def clock() -> Clock:
    return Clock(start=START, monotonic=lambda: 0.0)


@pytest.fixture
def world(clock: Clock) -> World:
    return World(seed=41, clock=clock)


def shop_in(world: World, region: str) -> Shop:
    return next(s for s in world.shops() if s.region == region)


@pytest.fixture
def us(world: World) -> Shop:
    return shop_in(world, "US")


@pytest.fixture
def gb(world: World) -> Shop:
    return shop_in(world, "GB")


def plain(data: Any) -> Any:
    return orjson.loads(orjson.dumps(data))


def code_of(call: Callable[[], Any]) -> int:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.code


def create(world: World, shop: Shop, order: dict, **extra: Any) -> dict:
    body = {"order_id": order["id"], "return_reason": SELLER_REFUND, "return_type": "REFUND", **extra}
    return world.create_return(shop, body)


# --- Create Return ---------------------------------------------------------------------------------------------


def test_seller_refund_is_created_pending_and_initiated_by_the_seller(world: World, us: Shop) -> None:
    order = world.create_order(us, units=2)
    result = create(world, us, order)
    assert result["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING"
    found = world.find_request(result["return_id"])
    assert found is not None
    assert found["role"] == "SELLER" and found["seller_next_action_response"] == []
    assert len(found["return_line_items"]) == 2


def test_seller_refund_proceeds_without_review(world: World, us: Shop, clock: Clock) -> None:
    result = create(world, us, world.create_order(us))
    clock.advance(61)
    world.tick()
    assert world.find_request(result["return_id"])["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS"  # type: ignore[index]


def test_seller_refund_of_selected_lines(world: World, us: Shop) -> None:
    order = world.create_order(us, units=3)
    line = order["line_items"][2]["id"]
    result = create(world, us, order, order_line_item_ids=[line])
    found = world.find_request(result["return_id"])
    assert found is not None and [x["order_line_item_id"] for x in found["return_line_items"]] == [line]


def test_lower_refund_total_is_honoured_and_split_over_lines(world: World, us: Shop) -> None:
    order = world.create_order(us, units=2)
    found = world.find_request(create(world, us, order, refund_total="3.01", currency="USD")["return_id"])
    assert found is not None
    assert found["refund_amount"]["refund_total"] == "3.01"
    assert sum(Decimal(x["refund_amount"]["refund_total"]) for x in found["return_line_items"]) == Decimal("3.01")


def test_refund_total_above_the_refundable_amount_fails_with_25005005(world: World, us: Shop) -> None:
    order = world.create_order(us)
    assert code_of(lambda: create(world, us, order, refund_total="100000.00")) == 25005005


def test_seller_return_is_us_only(world: World, us: Shop, gb: Shop) -> None:
    order = world.create_order(us)
    created = create(world, us, order, return_type="RETURN_AND_REFUND", return_reason=SELLER_RETURN)
    assert created["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING"
    uk_order = world.create_order(gb)
    body = {"return_type": "RETURN_AND_REFUND", "return_reason": SELLER_RETURN}
    assert code_of(lambda: create(world, gb, uk_order, **body)) == 25001021


def test_second_return_for_the_same_items_fails_with_25001011(world: World, us: Shop) -> None:
    order = world.create_order(us)
    create(world, us, order)
    assert code_of(lambda: create(world, us, order)) == 25001011


def test_return_for_refunded_items_fails_with_25001010(world: World, us: Shop, clock: Clock) -> None:
    order = world.create_order(us)
    return_id = create(world, us, order)["return_id"]
    clock.advance(61)
    world.tick()
    world.complete_refund(return_id)
    assert code_of(lambda: create(world, us, order)) == 25001010


def test_return_on_a_cancelled_order_fails_with_25001010(world: World, us: Shop) -> None:
    order = world.create_order(us, status="AWAITING_SHIPMENT")
    world.cancel_order(us, {"order_id": order["id"], "cancel_reason": "seller_cancel_reason_out_of_stock"})
    assert code_of(lambda: create(world, us, order)) == 25001010


def test_return_on_a_completed_order_fails_with_25001051(world: World, us: Shop) -> None:
    order = world.create_order(us, status="COMPLETED")
    assert code_of(lambda: create(world, us, order)) == 25001051


def test_return_on_an_unshipped_order_fails_with_25001003(world: World, us: Shop) -> None:
    order = world.create_order(us, status="AWAITING_SHIPMENT")
    assert code_of(lambda: create(world, us, order)) == 25001003


@pytest.mark.parametrize("reason,code", [
    ("no_such_reason", 25001014),
    ("ecom_order_delivered_refund_reason_damaged", 25001015),
    ("seller_shipped_refund_package_lost", 25001021),
])
def test_wrong_return_reason_fails(world: World, us: Shop, reason: str, code: int) -> None:
    order = world.create_order(us)
    assert code_of(lambda: create(world, us, order, return_reason=reason)) == code


def test_lost_parcel_refund_fits_an_order_in_transit(world: World, us: Shop) -> None:
    order = world.create_order(us, status="IN_TRANSIT")
    assert create(world, us, order, return_reason="seller_shipped_refund_package_lost")["return_id"]


@pytest.mark.parametrize("extra,code", [
    ({"return_type": "REPLACEMENT"}, 25001001),
    ({"return_reason": 5}, 25001001),
    ({"currency": "GBP"}, 25001001),
    ({"refund_total": "ten"}, 25001001),
    ({"order_line_item_ids": ["5770009999999999999"]}, 25001001),
    ({"shipment_type": "DRONE"}, 25001001),
])
def test_malformed_create_return_fails(world: World, us: Shop, extra: dict, code: int) -> None:
    order = world.create_order(us)
    assert code_of(lambda: create(world, us, order, **extra)) == code


def test_too_many_skus_fail_with_25005011(world: World, us: Shop) -> None:
    order = world.create_order(us, units=1)
    skus = [{"sku_id": order["line_items"][0]["sku_id"], "quantity": 2}]
    assert code_of(lambda: create(world, us, order, skus=skus)) == 25005011


def test_create_return_for_unknown_order_fails_with_25007006(world: World, us: Shop) -> None:
    assert code_of(lambda: create(world, us, {"id": "570099999999999999"})) == 25007006


def test_create_return_for_another_shops_order_fails_with_25020005(world: World, us: Shop, gb: Shop) -> None:
    assert code_of(lambda: create(world, us, world.create_order(gb))) == 25020005


# --- Calculate Refund ------------------------------------------------------------------------------------------


def calculate(world: World, shop: Shop, order: dict, request_type: str, reason: str, **extra: Any) -> dict:
    body = {"order_id": order["id"], "request_type": request_type, "reason_name": reason, **extra}
    return world.calculate_refund(shop, body)["order_refund_amount"]


def test_cancel_refund_is_everything_paid(world: World, us: Shop) -> None:
    order = world.create_order(us, units=2, status="AWAITING_SHIPMENT")
    amount = calculate(world, us, order, "CANCEL", "seller_cancel_reason_out_of_stock")
    p = order["payment"]
    assert amount["refund_subtotal"] == p["sub_total"]
    assert amount["refund_shipping_fee"] == p["shipping_fee"]
    assert Decimal(amount["refund_total"]) == Decimal(p["sub_total"]) + Decimal(p["shipping_fee"]) + Decimal(p["tax"])


def test_buyer_remorse_return_does_not_refund_shipping(world: World, us: Shop) -> None:
    order = world.create_order(us)
    amount = calculate(world, us, order, "RETURN_AND_REFUND", "ecom_order_delivered_refund_and_return_reason_no_need")
    assert amount["refund_shipping_fee"] == "0.00"
    assert amount["refund_subtotal"] == order["payment"]["sub_total"]


def test_faulty_item_return_refunds_shipping(world: World, us: Shop) -> None:
    order = world.create_order(us)
    reason = "ecom_order_delivered_refund_and_return_reason_defective"
    assert calculate(world, us, order, "RETURN_AND_REFUND", reason)["refund_shipping_fee"] == (
        order["payment"]["shipping_fee"])


def test_calculate_for_one_of_several_units(world: World, us: Shop) -> None:
    order = world.create_order(us, units=3)
    line = order["line_items"][0]
    amount = calculate(world, us, order, "REFUND", SELLER_REFUND, order_line_item_ids=[line["id"]])
    assert amount["refund_subtotal"] == line["sale_price"]
    assert amount["refund_shipping_fee"] == "0.00"


def test_calculate_excludes_tax_from_the_total_when_switched_off(clock: Clock) -> None:
    world = World(seed=41, clock=clock, refund_total_includes_tax=False)
    us = shop_in(world, "US")
    order = world.create_order(us, status="AWAITING_SHIPMENT")
    amount = calculate(world, us, order, "CANCEL", "seller_cancel_reason_out_of_stock")
    assert Decimal(amount["refund_total"]) == Decimal(amount["refund_subtotal"]) + Decimal(
        amount["refund_shipping_fee"])


@pytest.mark.parametrize("body,code", [
    ({"request_type": "CANCEL", "reason_name": "seller_cancel_reason_out_of_stock"}, 25001001),
    ({"order_id": "570099999999999999", "request_type": "CANCEL", "reason_name": "package_lost"}, 25007006),
    ({"order_id": "OWN", "request_type": "SWAP", "reason_name": "package_lost"}, 25001001),
    ({"order_id": "OWN", "request_type": "CANCEL", "reason_name": "not_a_reason"}, 25001001),
    ({"order_id": "OWN", "request_type": "CANCEL"}, 25001001),
])
def test_malformed_calculate_refund_fails(world: World, us: Shop, body: dict, code: int) -> None:
    order = world.create_order(us)
    if body.get("order_id") == "OWN":
        body = {**body, "order_id": order["id"]}
    assert code_of(lambda: world.calculate_refund(us, body)) == code


# --- Aftersale Eligibility -----------------------------------------------------------------------------------


def eligibility(world: World, shop: Shop, order: dict, version: str = "202309", **query: str) -> dict:
    result = world.aftersale_eligibility(shop, order["id"], query, version)
    return {(e["request_type"], line): e for sku in result["sku_eligibility"] for e in sku["line_item_eligibility"]
            for line in e["order_line_items_ids"]}


def test_delivered_order_is_eligible_for_refund_and_seller_return_in_the_us(world: World, us: Shop) -> None:
    order = world.create_order(us)
    line = order["line_items"][0]["id"]
    found = eligibility(world, us, order)
    assert found[("REFUND", line)]["eligible"] is True
    assert found[("RETURN_AND_REFUND", line)]["eligible"] is True
    assert found[("CANCEL", line)]["eligible"] is False and found[("CANCEL", line)]["ineligible_code"] == 25001045


def test_uk_seller_cannot_initiate_a_return(world: World, gb: Shop) -> None:
    order = world.create_order(gb)
    line = order["line_items"][0]["id"]
    assert eligibility(world, gb, order)[("RETURN_AND_REFUND", line)]["eligible"] is False
    assert eligibility(world, gb, order, initiate_aftersale_user="BUYER")[("RETURN_AND_REFUND", line)]["eligible"]


def test_units_in_an_open_return_are_not_eligible_again(world: World, us: Shop) -> None:
    order = world.create_order(us, units=2)
    world.create_return_request(us, order_id=order["id"], units=1)
    found = eligibility(world, us, order)
    first, second = (x["id"] for x in order["line_items"])
    assert found[("REFUND", first)]["eligible"] is False and found[("REFUND", first)]["ineligible_code"] == 25001011
    assert found[("REFUND", second)]["eligible"] is True


def test_unshipped_order_is_eligible_for_seller_cancel_only(world: World, us: Shop) -> None:
    order = world.create_order(us, status="AWAITING_SHIPMENT")
    line = order["line_items"][0]["id"]
    found = eligibility(world, us, order)
    assert found[("CANCEL", line)]["eligible"] is True
    assert found[("REFUND", line)]["eligible"] is False


def test_lines_of_one_sku_are_grouped(world: World, us: Shop) -> None:
    order = world.create_order(us, units=4)
    result = world.aftersale_eligibility(us, order["id"], {}, "202309")
    for sku in result["sku_eligibility"]:
        assert len({e["request_type"] for e in sku["line_item_eligibility"]}) == len(sku["line_item_eligibility"])
    assert sum(len(e["order_line_items_ids"]) for sku in result["sku_eligibility"]
               for e in sku["line_item_eligibility"]) == 4 * 3


def test_202602_filters_request_types_and_lists_reasons(world: World, us: Shop) -> None:
    order = world.create_order(us)
    found = eligibility(world, us, order, "202602", request_types="REFUND")
    assert {key[0] for key in found} == {"REFUND"}
    entry = next(iter(found.values()))
    assert SELLER_REFUND in entry["available_reason_names"]


def test_eligibility_with_an_unknown_initiator_fails_with_25001001(world: World, us: Shop) -> None:
    order = world.create_order(us)
    assert code_of(lambda: world.aftersale_eligibility(us, order["id"], {"initiate_aftersale_user": "CAT"})) == (
        25001001)


def test_eligibility_of_another_shops_order_fails_with_25020005(world: World, us: Shop, gb: Shop) -> None:
    assert code_of(lambda: world.aftersale_eligibility(us, world.create_order(gb)["id"], {})) == 25020005
