"""The Shopify client and adapter over a scripted transport: throttling, retries, typed errors, and exactly what
the refund and restock mutations carry (TikTok's amounts as sent, our key, @idempotent)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from returnbridge.stores.adapter import (
    PermanentStoreError,
    RefundAmounts,
    RefundRequest,
    RestockRequest,
    StoreOrder,
    StoreOrderLine,
    TransientStoreError,
    Units,
)
from returnbridge.stores.shopify import ShopifyAdapter, ShopifyClient

Handler = Callable[[httpx.Request], httpx.Response]


def cost(available: float, requested: float = 10, restore: float = 100, maximum: float = 2000) -> dict[str, Any]:
    return {"cost": {"requestedQueryCost": requested, "actualQueryCost": requested,
                     "throttleStatus": {"maximumAvailable": maximum, "currentlyAvailable": available,
                                        "restoreRate": restore}}}


class Script:
    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def ok(data: dict[str, Any], available: float = 1990) -> httpx.Response:
    return httpx.Response(200, json={"data": data, "extensions": cost(available)})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def client(script: Script, clock: Clock | None = None) -> ShopifyClient:
    clock = clock or Clock()
    return ShopifyClient("https://acme.myshopify.com", "shpat_secret", transport=httpx.MockTransport(script),
                         sleep=clock.sleep, clock=lambda: clock.now)


def test_requests_go_to_the_pinned_version_with_the_token_header() -> None:
    script = Script(ok({"shop": {}}))
    client(script).execute("query Q { shop { id } }", operation="Q", idempotent=True)
    request = script.requests[0]
    assert str(request.url) == "https://acme.myshopify.com/admin/api/2026-04/graphql.json"
    assert request.headers["X-Shopify-Access-Token"] == "shpat_secret"


def test_waits_for_the_bucket_instead_of_running_into_throttled() -> None:
    clock = Clock()
    script = Script(
        httpx.Response(200, json={"data": {}, "extensions": cost(available=5, requested=30)}),
        ok({}),
    )
    shopify = client(script, clock)
    shopify.execute("query Q { a }", operation="Q", idempotent=True)
    shopify.execute("query Q { a }", operation="Q", idempotent=True)
    # 30 points needed, 5 there, 100 restored per second: a quarter of a second.
    assert clock.slept == [pytest.approx(0.25)]
    assert shopify.throttled_responses == 0


def test_throttled_answer_is_retried_after_the_time_the_bucket_needs() -> None:
    clock = Clock()
    throttled = httpx.Response(200, json={"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                                          "extensions": cost(available=0, requested=50)})
    script = Script(throttled, ok({"x": 1}))
    shopify = client(script, clock)
    assert shopify.execute("query Q { x }", operation="Q", idempotent=False) == {"x": 1}
    assert clock.slept[0] == pytest.approx(0.5)
    assert shopify.throttled_responses == 1


def test_429_and_503_are_retried_honouring_retry_after() -> None:
    clock = Clock()
    script = Script(httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(503), ok({"x": 1}))
    assert client(script, clock).execute("query Q { x }", operation="Q", idempotent=False) == {"x": 1}
    assert clock.slept[0] == 2.0
    assert len(script.requests) == 3


def test_a_timeout_on_a_mutation_without_idempotency_is_not_sent_again() -> None:
    script = Script(httpx.ReadTimeout("slow"), ok({}))
    with pytest.raises(TransientStoreError, match="outcome unknown"):
        client(script).execute("mutation M { a }", operation="M", idempotent=False)
    assert len(script.requests) == 1


def test_a_timeout_on_an_idempotent_call_is_retried() -> None:
    script = Script(httpx.ReadTimeout("slow"), ok({"x": 1}))
    assert client(script).execute("mutation M { a }", operation="M", idempotent=True) == {"x": 1}


def test_bad_token_is_a_permanent_error_with_shopifys_message() -> None:
    body = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
    with pytest.raises(PermanentStoreError, match="Invalid API key"):
        client(Script(httpx.Response(401, json=body))).execute("query Q { a }", operation="Q", idempotent=True)


def test_top_level_errors_are_permanent_with_their_code() -> None:
    body = {"errors": [{"message": "The @idempotent directive is required", "extensions": {"code": "BAD_REQUEST"}}]}
    with pytest.raises(PermanentStoreError, match="BAD_REQUEST"):
        client(Script(httpx.Response(200, json=body))).execute("mutation M { a }", operation="M", idempotent=True)


def test_gives_up_as_transient_after_the_retries() -> None:
    script = Script(*[httpx.Response(503) for _ in range(6)])
    with pytest.raises(TransientStoreError, match="6 tries"):
        client(script).execute("query Q { a }", operation="Q", idempotent=True)


# --- the adapter's mutations ------------------------------------------------------------------------------------

ORDER = StoreOrder(
    id="gid://shopify/Order/1", name="#1001", currency="USD", url="https://acme.myshopify.com/admin/orders/1",
    lines=(StoreOrderLine("gid://shopify/LineItem/1", "SKU-A", 3, 3, "gid://shopify/InventoryItem/1", True,
                          (("gid://shopify/FulfillmentLineItem/1", 3, "gid://shopify/Location/2"),)),),
    parent_transaction_id="gid://shopify/OrderTransaction/9", gateway="manual",
)


def refund_ok(total: str, currency: str = "USD") -> httpx.Response:
    return ok({"refundCreate": {"refund": {"id": "gid://shopify/Refund/5", "note": "n", "totalRefundedSet": {
        "shopMoney": {"amount": total, "currencyCode": currency}}}, "order": {"id": ORDER.id}, "userErrors": []}})


def test_refund_records_tiktoks_total_exactly_with_our_key_and_no_platform_discount() -> None:
    script = Script(refund_ok("27.53"))
    amounts = RefundAmounts(currency="USD", total=Decimal("27.53"), subtotal=Decimal("22.00"),
                            shipping=Decimal("3.99"), tax=Decimal("1.54"), platform_discount=Decimal("4.00"),
                            shipping_platform_discount=Decimal("1.00"))
    result = ShopifyAdapter(client(script), "https://acme.myshopify.com").record_refund(
        RefundRequest(ORDER, amounts, "rb-1-7-refund-v1", "ReturnBridge rb-1-7-refund-v1", (Units("SKU-A", 2),)))
    body = script.bodies()[0]
    assert "@idempotent(key: $key)" in body["query"]
    assert body["variables"]["key"] == "rb-1-7-refund-v1"
    refund = body["variables"]["in"]
    assert refund["notify"] is False
    assert "rb-1-7-refund-v1" in refund["note"]
    assert refund["transactions"] == [{"amount": "27.53", "gateway": "manual", "kind": "REFUND",
                                       "orderId": ORDER.id, "parentId": "gid://shopify/OrderTransaction/9"}]
    assert refund["shipping"] == {"amount": "3.99"}
    assert refund["refundLineItems"] == [{"lineItemId": "gid://shopify/LineItem/1", "quantity": 2,
                                          "restockType": "NO_RESTOCK"}]
    assert result.amount is not None and result.amount.amount == Decimal("27.53")


def test_zero_decimal_currency_amounts_are_sent_without_decimals() -> None:
    script = Script(refund_ok("1500", "JPY"))
    order = StoreOrder(ORDER.id, "#1", "JPY", lines=ORDER.lines, parent_transaction_id="t", gateway="manual")
    ShopifyAdapter(client(script), "https://x").record_refund(
        RefundRequest(order, RefundAmounts(currency="JPY", total=Decimal("1500"), shipping=Decimal("300")), "k", "k"))
    refund = script.bodies()[0]["variables"]["in"]
    assert refund["transactions"][0]["amount"] == "1500"
    assert refund["shipping"] == {"amount": "300"}


def test_refund_user_errors_become_a_permanent_error_with_shopifys_message() -> None:
    script = Script(ok({"refundCreate": {"refund": None, "order": None, "userErrors": [
        {"field": None, "message": "Refund amount $999.00 is greater than net payment received $35.00"}]}}))
    with pytest.raises(PermanentStoreError, match="greater than net payment"):
        ShopifyAdapter(client(script), "https://x").record_refund(
            RefundRequest(ORDER, RefundAmounts(currency="USD", total=Decimal("999.00")), "k", "k"))


def test_restock_adjusts_available_with_our_key_in_the_reference_uri() -> None:
    script = Script(ok({"inventoryAdjustQuantities": {"inventoryAdjustmentGroup": {
        "id": "gid://shopify/InventoryAdjustmentGroup/3", "reason": "restock",
        "referenceDocumentUri": "gid://returnbridge/StoreEffect/rb-1-7-restock-v1", "changes": []}, "userErrors": []}}))
    ShopifyAdapter(client(script), "https://x").restock(
        RestockRequest(ORDER, (Units("SKU-A", 2),), "", True, "rb-1-7-restock-v1"))
    body = script.bodies()[0]
    assert "@idempotent(key: $key)" in body["query"] and body["variables"]["key"] == "rb-1-7-restock-v1"
    assert body["variables"]["in"] == {
        "name": "available", "reason": "restock", "referenceDocumentUri": "gid://returnbridge/StoreEffect/rb-1-7-restock-v1",
        "changes": [{"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": "gid://shopify/Location/2",
                     "delta": 2, "changeFromQuantity": None}],
    }


def test_concurrent_idempotent_request_is_retryable() -> None:
    script = Script(ok({"inventoryAdjustQuantities": {"inventoryAdjustmentGroup": None, "userErrors": [
        {"field": None, "message": "in flight", "code": "IDEMPOTENCY_CONCURRENT_REQUEST"}]}}))
    with pytest.raises(TransientStoreError):
        ShopifyAdapter(client(script), "https://x").restock(
            RestockRequest(ORDER, (Units("SKU-A", 1),), "L", False, "k"))
