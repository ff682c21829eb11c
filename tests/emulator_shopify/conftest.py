"""A running Shopify emulator per test worker, reset before each test, and a small GraphQL client written from
store-apis.md (not the product's Shopify client)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from returnbridge.emulators.shopify.server import EmulatorServer

API = "/admin/api/2026-04/graphql.json"


@dataclass
class Shopify:
    server: EmulatorServer
    http: httpx.Client

    @property
    def domain(self) -> str:
        return self.server.domain

    def post(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
             path: str = API) -> httpx.Response:
        headers = {"X-Shopify-Access-Token": token if token is not None else self.server.token}
        return self.http.post(path, json={"query": query, "variables": variables or {}}, headers=headers)

    def gql(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        response = self.post(query, variables, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def control(self, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, f"/_emulator{path}", json=json)
        assert response.status_code == 200, response.text
        return response.json()

    def store(self, path: str = "") -> Any:
        return self.control("GET", f"/stores/{self.domain}{path}")

    def new_order(self, tiktok_id: str = "576460000000000001", **options: Any) -> dict[str, Any]:
        return self.control("POST", f"/stores/{self.domain}/orders", {"tiktok_order_id": tiktok_id, **options})

    def variant(self, tracked: bool = True) -> dict[str, Any]:
        return next(v for v in self.store()["variants"] if v["tracked"] is tracked)

    def level(self, item_id: str, location_id: str) -> dict[str, int] | None:
        for level in self.store("/inventory")["levels"]:
            if level["inventory_item_id"] == item_id and level["location_id"] == location_id:
                return level["quantities"]
        return None


@pytest.fixture(scope="session")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(seed=7) as running:
        yield running


@pytest.fixture
def shop(server: EmulatorServer) -> Iterator[Shopify]:
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        client = Shopify(server, http)
        client.control("POST", "/reset")
        client.control("POST", "/config", {"maximum_available": 2000, "restore_rate": 100, "max_query_cost": 1000,
                                           "latency_ms": 0, "fault_rate": 0})
        yield client


ORDER_FIELDS = """
  id name tags note sourceIdentifier displayFinancialStatus returnStatus
  customAttributes { key value }
  transactions { id kind gateway amountSet { shopMoney { amount currencyCode } } }
  lineItems(first: 10) { nodes { id sku quantity refundableQuantity variant { id inventoryItem { id } } } }
  fulfillments(first: 5) { id location { id }
    fulfillmentLineItems(first: 10) { nodes { id quantity lineItem { id } } } }
"""

RETURN_CREATE = """
mutation Ret($in: ReturnInput!) {
  returnCreate(returnInput: $in) {
    return { id name status totalQuantity
      returnLineItems(first: 10) { nodes { ... on ReturnLineItem { id quantity processedQuantity } } }
      reverseFulfillmentOrders(first: 5) { nodes { id lineItems(first: 50) { nodes { id totalQuantity
        fulfillmentLineItem { id } } } } } }
    userErrors { field message code }
  }
}"""

REFUND_CREATE = """
mutation Refund($in: RefundInput!, $key: String!) {
  refundCreate(input: $in) @idempotent(key: $key) {
    refund { id totalRefundedSet { shopMoney { amount currencyCode } }
      transactions(first: 5) { nodes { id kind status gateway } }
      refundLineItems(first: 50) { nodes { lineItem { id } quantity restockType restocked } } }
    order { id displayFinancialStatus }
    userErrors { field message }
  }
}"""

ADJUST = """
mutation Restock($in: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $in) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id reason referenceDocumentUri changes { name delta item { id } location { id } } }
    userErrors { field message code }
  }
}"""


def fulfillment_line(order: dict[str, Any], index: int = 0) -> str:
    return order["fulfillments"][0]["line_items"][index]["id"]


def return_input(order: dict[str, Any], quantity: int = 1, **line: Any) -> dict[str, Any]:
    return {"orderId": order["id"], "returnLineItems": [
        {"fulfillmentLineItemId": fulfillment_line(order), "quantity": quantity, "returnReason": "DEFECTIVE", **line}]}
