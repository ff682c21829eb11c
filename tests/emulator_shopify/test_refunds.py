"""refundCreate: record-only money, caps and restocks (store-apis.md A.4)."""

from __future__ import annotations

from typing import Any

from .conftest import REFUND_CREATE, Shopify


def refund_input(order: dict[str, Any], amount: str | None = None, quantity: int = 1,
                 restock: str = "NO_RESTOCK", **extra: Any) -> dict[str, Any]:
    sale = order["transactions"][0]
    data: dict[str, Any] = {
        "orderId": order["id"], "notify": False,
        "refundLineItems": [{"lineItemId": order["line_items"][0]["id"], "quantity": quantity,
                             "restockType": restock}],
        "transactions": [{"amount": amount or sale["amount"], "gateway": "manual", "kind": "REFUND",
                          "orderId": order["id"], "parentId": sale["id"]}],
    }
    data.update(extra)
    return data


def refund(shop: Shopify, data: dict[str, Any], key: str = "k-1") -> dict[str, Any]:
    return shop.gql(REFUND_CREATE, {"in": data, "key": key})["data"]["refundCreate"]


def test_a_full_refund_records_a_successful_refund_transaction(shop: Shopify) -> None:
    order = shop.new_order("f1", lines=[{"sku": shop.variant()["sku"], "quantity": 1, "price": "15.00"}])
    payload = refund(shop, refund_input(order))
    assert payload["userErrors"] == []
    assert payload["refund"]["totalRefundedSet"] == {"shopMoney": {"amount": "15.0", "currencyCode": "USD"}}
    [transaction] = payload["refund"]["transactions"]["nodes"]
    assert (transaction["kind"], transaction["status"], transaction["gateway"]) == ("REFUND", "SUCCESS", "manual")
    assert payload["order"]["displayFinancialStatus"] == "REFUNDED"
    assert payload["refund"]["refundLineItems"]["nodes"][0]["restocked"] is False


def test_a_partial_refund_makes_the_order_partially_refunded(shop: Shopify) -> None:
    order = shop.new_order("f2", lines=[{"sku": shop.variant()["sku"], "quantity": 2, "price": "10.00"}])
    payload = refund(shop, refund_input(order, amount="10.00"))
    assert payload["order"]["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    [stored] = shop.store("/refunds")["refunds"]
    assert stored["total_refunded"] == "10.0" and stored["line_items"][0]["subtotal"] == "10.0"


def test_the_gateway_is_taken_from_the_parent(shop: Shopify) -> None:
    order = shop.new_order("f3", gateway="bogus-parent-gateway")
    payload = refund(shop, refund_input(order))
    assert payload["refund"]["transactions"]["nodes"][0]["gateway"] == "bogus-parent-gateway"


def test_quantity_above_purchased_is_refused(shop: Shopify) -> None:
    order = shop.new_order("f4")
    payload = refund(shop, refund_input(order, quantity=2))
    assert payload == {"refund": None, "order": None, "userErrors": [
        {"field": ["refundLineItems", "0", "quantity"],
         "message": "Quantity cannot refund more items than were purchased"}]}


def test_sequential_refunds_are_capped_by_the_remaining_quantity(shop: Shopify) -> None:
    order = shop.new_order("f5", lines=[{"sku": shop.variant()["sku"], "quantity": 2, "price": "10.00"}])
    assert refund(shop, refund_input(order, amount="10.00"), key="a")["userErrors"] == []
    assert refund(shop, refund_input(order, amount="5.00"), key="b")["userErrors"] == []
    third = refund(shop, refund_input(order, amount="1.00"), key="c")
    assert third["userErrors"][0]["message"] == "Quantity cannot refund more items than were purchased"


def test_amount_above_net_payment_is_refused_even_with_allow_over_refunding(shop: Shopify) -> None:
    order = shop.new_order("f6", lines=[{"sku": shop.variant()["sku"], "quantity": 1, "price": "35.00"}])
    payload = refund(shop, refund_input(order, amount="999.00", allowOverRefunding=True))
    assert payload["userErrors"] == [{"field": None, "message":
                                      "Refund amount $999.00 is greater than net payment received $35.00"}]
    assert shop.store("/refunds")["refunds"] == []


def test_a_non_refund_kind_is_refused(shop: Shopify) -> None:
    order = shop.new_order("f7")
    data = refund_input(order)
    data["transactions"][0]["kind"] = "AUTHORIZATION"
    assert refund(shop, data)["userErrors"] == [{"field": None,
                                                 "message": "Kind authorization is not a valid transaction"}]


def test_a_parent_from_another_order_is_refused(shop: Shopify) -> None:
    order = shop.new_order("f8")
    other = shop.new_order("f9")
    data = refund_input(order)
    data["transactions"][0]["parentId"] = other["transactions"][0]["id"]
    assert refund(shop, data)["userErrors"] == [{"field": ["transactions"], "message":
                                                 "Transactions require a parent_id associated with the order"}]


def test_an_unknown_order_does_not_exist(shop: Shopify) -> None:
    payload = refund(shop, {"orderId": "gid://shopify/Order/12345"})
    assert payload == {"refund": None, "order": None,
                       "userErrors": [{"field": ["orderId"], "message": "Order does not exist"}]}


def test_restock_type_return_puts_the_unit_back_at_the_location(shop: Shopify) -> None:
    variant = shop.variant()
    order = shop.new_order("f10", lines=[{"sku": variant["sku"], "quantity": 1}])
    location = order["fulfillments"][0]["location_id"]
    before = shop.level(variant["inventory_item_id"], location)["available"]
    payload = refund(shop, refund_input(order, restock="RETURN", transactions=[]) | {
        "refundLineItems": [{"lineItemId": order["line_items"][0]["id"], "quantity": 1, "restockType": "RETURN",
                             "locationId": location}]})
    assert payload["refund"]["refundLineItems"]["nodes"][0]["restocked"] is True
    assert payload["refund"]["totalRefundedSet"]["shopMoney"]["amount"] == "0.0"
    assert shop.level(variant["inventory_item_id"], location)["available"] == before + 1


def test_restock_at_a_location_not_stocking_the_item_is_refused(shop: Shopify) -> None:
    variant = shop.variant()
    summary = shop.store()
    order = shop.new_order("f11", lines=[{"sku": variant["sku"], "quantity": 1}])
    popup = next(loc["id"] for loc in summary["locations"] if loc["name"] == "Pop-up store")
    data = refund_input(order) | {"refundLineItems": [{"lineItemId": order["line_items"][0]["id"], "quantity": 1,
                                                       "restockType": "RETURN", "locationId": popup}]}
    assert refund(shop, data)["userErrors"][0]["field"] == ["refundLineItems", "0", "locationId"]


def test_refund_create_without_the_idempotent_directive_is_a_bad_request(shop: Shopify) -> None:
    order = shop.new_order("f12")
    body = shop.gql("mutation R($in: RefundInput!) { refundCreate(input: $in) { refund { id } } }",
                    {"in": refund_input(order)})
    assert body["data"] == {"refundCreate": None}
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert body["errors"][0]["message"] == \
        "The @idempotent directive is required for this mutation but was not provided."
    assert shop.store("/refunds")["refunds"] == []
