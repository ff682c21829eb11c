"""The @idempotent directive: replay without a second effect, and the mismatch error (store-apis.md A.6)."""

from __future__ import annotations

from .conftest import ADJUST, REFUND_CREATE, Shopify
from .test_inventory import adjust_input, main_location
from .test_refunds import refund_input


def test_the_same_key_and_input_replays_the_refund_without_a_second_one(shop: Shopify) -> None:
    order = shop.new_order("i1", lines=[{"sku": shop.variant()["sku"], "quantity": 1, "price": "20.00"}])
    variables = {"in": refund_input(order), "key": "refund-i1"}
    first = shop.gql(REFUND_CREATE, variables)["data"]["refundCreate"]
    second = shop.gql(REFUND_CREATE, variables)["data"]["refundCreate"]
    assert first == second and first["refund"] is not None
    assert len(shop.store("/refunds")["refunds"]) == 1
    assert shop.control("GET", "/requests")["requests"][-1]["replayed"] == ["refundCreate"]


def test_the_same_key_with_other_input_is_a_mismatch_for_refunds(shop: Shopify) -> None:
    order = shop.new_order("i2", lines=[{"sku": shop.variant()["sku"], "quantity": 2, "price": "20.00"}])
    shop.gql(REFUND_CREATE, {"in": refund_input(order, amount="20.00"), "key": "k"})
    payload = shop.gql(REFUND_CREATE, {"in": refund_input(order, amount="10.00"), "key": "k"})["data"]["refundCreate"]
    assert payload == {"refund": None, "order": None, "userErrors": [
        {"field": None, "message": "The same idempotency key cannot be used with different operation parameters."}]}
    assert len(shop.store("/refunds")["refunds"]) == 1


def test_equal_amounts_written_differently_are_the_same_input(shop: Shopify) -> None:
    order = shop.new_order("i3", lines=[{"sku": shop.variant()["sku"], "quantity": 1, "price": "20.00"}])
    shop.gql(REFUND_CREATE, {"in": refund_input(order, amount="20.00"), "key": "same"})
    again = shop.gql(REFUND_CREATE, {"in": refund_input(order, amount="20"), "key": "same"})["data"]["refundCreate"]
    assert again["userErrors"] == []
    assert len(shop.store("/refunds")["refunds"]) == 1


def test_an_inventory_replay_adjusts_once(shop: Shopify) -> None:
    item = shop.variant()["inventory_item_id"]
    location = main_location(shop)
    before = shop.level(item, location)["available"]
    variables = {"in": adjust_input(item, location, 1), "key": "restock-1"}
    first = shop.gql(ADJUST, variables)["data"]["inventoryAdjustQuantities"]
    second = shop.gql(ADJUST, variables)["data"]["inventoryAdjustQuantities"]
    assert first == second
    assert shop.level(item, location)["available"] == before + 1
    assert len(shop.store("/adjustments")["adjustments"]) == 1


def test_an_inventory_mismatch_has_its_code(shop: Shopify) -> None:
    item = shop.variant()["inventory_item_id"]
    location = main_location(shop)
    shop.gql(ADJUST, {"in": adjust_input(item, location, 1), "key": "k"})
    payload = shop.gql(ADJUST, {"in": adjust_input(item, location, 2), "key": "k"})["data"][
        "inventoryAdjustQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"


def test_the_directive_on_the_operation_is_rejected(shop: Shopify) -> None:
    body = shop.gql('mutation M @idempotent(key: "k") { returnClose(id: "gid://shopify/Return/1") { userErrors '
                    "{ code } } }")
    assert body["errors"][0]["extensions"]["code"] == "directiveCannotBeApplied"
    assert "data" not in body


def test_a_blank_key_is_a_bad_request(shop: Shopify) -> None:
    item = shop.variant()["inventory_item_id"]
    body = shop.gql(ADJUST, {"in": adjust_input(item, main_location(shop)), "key": "  "})
    assert body["data"] == {"inventoryAdjustQuantities": None}
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
