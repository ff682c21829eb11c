"""The Magento emulator over real HTTP: tokens, searchCriteria, the credit memo validator chain and its messages,
MSI stock, the error body shape, faults and the control API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from returnbridge.emulators.magento import jsonio
from returnbridge.emulators.magento.search import parse
from returnbridge.emulators.magento.server import EmulatorServer

PREFIX = "searchCriteria[filter_groups]"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(seed_orders=4) as s:
        yield s


class Api:
    def __init__(self, server: EmulatorServer, **options: Any) -> None:
        self.control = httpx.Client(base_url=f"{server.base_url}/_emulator", timeout=10)
        self.name = f"e{uuid.uuid4().hex[:8]}"
        info = self.control.post("/sites", json={"name": self.name, **options}).json()
        self.rest = httpx.Client(base_url=f"{info['rest_url']}/V1", timeout=10)
        token = self.rest.post("/integration/admin/token", json={"username": "admin", "password": "admin123"})
        self.rest.headers["Authorization"] = f"Bearer {token.json()}"

    def order(self, **spec: Any) -> dict[str, Any]:
        body = {"tiktok_order_id": uuid.uuid4().hex[:12], "lines": [{"sku": "RB-001", "qty": 2, "price": "10.00"}],
                "shipping": "5.00", "tax_rate": "0.10", **spec}
        response = self.control.post(f"/sites/{self.name}/orders", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def refund(self, order: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
        return self.rest.post(f"/order/{order['entity_id']}/refund", content=jsonio.dumps(body),
                              headers={"Content-Type": "application/json"})


@pytest.fixture
def api(server: EmulatorServer) -> Api:
    return Api(server)


def _eq(field: str, value: str, condition: str = "eq", group: int = 0, n: int = 0) -> dict[str, str]:
    base = f"{PREFIX}[{group}][filters][{n}]"
    return {f"{base}[field]": field, f"{base}[value]": value, f"{base}[condition_type]": condition}


def test_search_criteria_are_parsed_into_ored_filters_inside_anded_groups() -> None:
    pairs = [*_eq("a", "1").items(), *_eq("b", "2", "like", 0, 1).items(), *_eq("c", "x,y", "in", 1).items(),
             ("searchCriteria[sortOrders][0][field]", "c"), ("searchCriteria[sortOrders][0][direction]", "desc"),
             ("searchCriteria[pageSize]", "5"), ("searchCriteria[currentPage]", "2"), ("other", "ignored")]
    criteria = parse(pairs)
    assert [[(f.field, f.condition) for f in g] for g in criteria.groups] == [[("a", "eq"), ("b", "like")],
                                                                              [("c", "in")]]
    assert (criteria.sort, criteria.page_size, criteria.current_page) == ([("c", "DESC")], 5, 2)


def test_bad_credentials_get_magentos_401_body(api: Api) -> None:
    response = api.rest.post("/integration/admin/token", json={"username": "admin", "password": "nope"})
    assert response.status_code == 401
    assert response.json()["message"].startswith("The account sign-in was incorrect")


def test_requests_without_a_valid_token_are_refused_with_the_resource(server: EmulatorServer, api: Api) -> None:
    response = httpx.get(f"{server.rest_url}/V1/orders/1", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert response.json() == {"message": "The consumer isn't authorized to access %resources.",
                               "parameters": {"resources": "Magento_Sales::actions_view"}}


def test_admin_tokens_expire_after_their_lifetime(api: Api) -> None:
    order = api.order()
    assert api.rest.get(f"/orders/{order['entity_id']}").status_code == 200
    api.control.post(f"/sites/{api.name}/clock", json={"advance_seconds": 4 * 3600 + 1})
    assert api.rest.get(f"/orders/{order['entity_id']}").status_code == 401


def test_integration_token_as_bearer_works_only_when_the_store_allows_it(server: EmulatorServer) -> None:
    api = Api(server, integration_token="itok", bearer_integration=False)
    url = f"{server.base_url}/stores/{api.name}/rest/V1/orders/1"
    assert httpx.get(url, headers={"Authorization": "Bearer itok"}).status_code == 401
    api.control.post(f"/sites/{api.name}/settings", json={"bearer_integration": True})
    assert httpx.get(url, headers={"Authorization": "Bearer itok"}).status_code == 404  # authorised; no order 1


def test_orders_are_found_by_increment_id_ext_order_id_and_like(api: Api) -> None:
    a = api.order(tiktok_order_id="5764000001")
    b = api.order(tiktok_order_id="5764000002", id_field="ext_order_id")
    found = api.rest.get("/orders", params=_eq("increment_id", "5764000001")).json()
    assert [o["entity_id"] for o in found["items"]] == [a["entity_id"]] and found["total_count"] == 1
    found = api.rest.get("/orders", params=_eq("ext_order_id", "5764000002")).json()
    assert [o["entity_id"] for o in found["items"]] == [b["entity_id"]]
    found = api.rest.get("/orders", params=_eq("increment_id", "5764%", "like")).json()
    assert found["total_count"] == 1


def test_a_page_past_the_end_repeats_the_last_page_like_magento(api: Api) -> None:
    for _ in range(3):
        api.order()
    params = {**_eq("state", "complete"), "searchCriteria[pageSize]": "2", "searchCriteria[currentPage]": "9"}
    body = api.rest.get("/orders", params=params).json()
    assert body["total_count"] == 3 and len(body["items"]) == 1


def test_an_unknown_filter_column_is_a_400(api: Api) -> None:
    response = api.rest.get("/orders", params=_eq("nope", "1"))
    assert response.status_code == 400 and response.json()["parameters"] == ["nope"]


def test_a_credit_memo_refunds_items_shipping_and_adjustments_and_keeps_the_comment(api: Api) -> None:
    order = api.order()
    item = order["items"][0]["item_id"]
    response = api.refund(order, {"items": [{"order_item_id": item, "qty": 1}], "notify": False,
                                  "comment": {"comment": "key-123", "is_visible_on_front": 0},
                                  "arguments": {"shipping_amount": Decimal("5.00"),
                                                "adjustment_positive": Decimal("1.25"),
                                                "adjustment_negative": Decimal("0.25")}})
    assert response.status_code == 200
    memo = api.rest.get(f"/creditmemo/{response.json()}").json()
    assert Decimal(str(memo["grand_total"])) == Decimal("17.00")  # 10 + 1 tax + 5 shipping + 1.25 − 0.25
    comments = api.rest.get(f"/creditmemo/{response.json()}/comments").json()["items"]
    assert [c["comment"] for c in comments] == ["key-123"]
    listed = api.rest.get("/creditmemos", params=_eq("order_id", str(order["entity_id"]))).json()
    assert [m["entity_id"] for m in listed["items"]] == [response.json()]


@pytest.mark.parametrize(("spec", "body", "message"), [
    ({"invoice": False}, {"items": []}, "We can't create creditmemo for the order."),
    ({"state": "holded"}, {"items": []}, "A creditmemo can not be created when an order has a status of holded"),
    ({}, {"items": [{"order_item_id": "ITEM", "qty": 3}]},
     'The quantity to creditmemo must not be greater than the unrefunded quantity for product SKU "RB-001".'),
    ({}, {"items": [{"order_item_id": 999999, "qty": 1}]},
     'The creditmemo contains product SKU "" that is not part of the original order.'),
    ({}, {"items": [{"order_item_id": "ITEM", "qty": 1}], "arguments": {"adjustment_positive": 100}},
     "The most money available to refund is $27.00."),
    ({}, {"items": [{"order_item_id": "ITEM", "qty": 0}], "arguments": {"shipping_amount": 0}},
     "The credit memo's total must be positive."),
    ({}, {"items": [{"order_item_id": "ITEM", "qty": 1}], "arguments": {"shipping_amount": 9}},
     "Maximum shipping amount allowed to refund is: $5.00"),
    ({}, {"items": [{"order_item_id": "ITEM", "qty": 1}],
          "arguments": {"extension_attributes": {"return_to_stock_items": [424242]}}},
     "The return to stock argument contains product item that is not part of the original credit memo."),
])
def test_credit_memo_validation_messages(api: Api, spec: dict[str, Any], body: dict[str, Any], message: str) -> None:
    order = api.order(**spec)
    for item in body["items"]:
        if item["order_item_id"] == "ITEM":
            item["order_item_id"] = order["items"][0]["item_id"]
    response = api.refund(order, body)
    assert response.status_code == 400
    assert response.json()["message"] == "Creditmemo Document Validation Error(s):\n" + message


def test_an_already_refunded_order_is_closed_and_refuses_another_credit_memo(api: Api) -> None:
    order = api.order()
    assert api.refund(order, {"items": []}).status_code == 200  # no items: every refundable unit
    again = api.refund(order, {"items": []})
    assert again.status_code == 400 and again.json()["message"].endswith(
        "A creditmemo can not be created when an order has a status of closed")


def test_return_to_stock_goes_back_to_the_shipping_source_and_auto_return_restocks_everything(
    server: EmulatorServer
) -> None:
    api = Api(server, sources=["default", "east"])
    order = api.order(source_code="east")
    item = order["items"][0]["item_id"]
    api.refund(order, {"items": [{"order_item_id": item, "qty": 1}], "arguments": {
        "shipping_amount": 0, "extension_attributes": {"return_to_stock_items": [item]}}})
    rows = api.rest.get("/inventory/source-items", params=_eq("sku", "RB-001")).json()["items"]
    assert {r["source_code"]: r["quantity"] for r in rows} == {"default": 100, "east": 99}  # 100 − 2 shipped + 1
    api.control.post(f"/sites/{api.name}/settings", json={"auto_return": True})
    api.refund(order, {"items": [{"order_item_id": item, "qty": 1}], "arguments": {"shipping_amount": 0}})
    rows = api.rest.get("/inventory/source-items", params=_eq("source_code", "east")).json()["items"]
    assert next(r["quantity"] for r in rows if r["sku"] == "RB-001") == 100


def test_commit_then_error_keeps_the_write_and_answers_502(api: Api) -> None:
    order = api.order()
    api.control.post("/faults", json={"kind": "commit_then_error", "match": "refund", "site": api.name})
    response = api.refund(order, {"items": []})
    assert response.status_code == 502 and "message" in response.json()
    memos = api.control.get(f"/sites/{api.name}/creditmemos").json()["creditmemos"]
    assert len(memos) == 1


def test_http_error_runs_nothing(api: Api) -> None:
    order = api.order()
    api.control.post("/faults", json={"kind": "http_error", "match": "refund", "site": api.name, "count": 2})
    assert [api.refund(order, {"items": []}).status_code for _ in range(3)] == [503, 503, 200]
    assert len(api.control.get(f"/sites/{api.name}/creditmemos").json()["creditmemos"]) == 1


def test_unknown_routes_and_entities_are_404_with_magentos_messages(api: Api) -> None:
    assert api.rest.get("/nothing-here").json()["message"] == "Request does not match any route."
    missing = api.rest.get("/orders/987654")
    assert missing.status_code == 404 and missing.json()["message"].startswith("The entity that was requested")


def test_the_seed_is_deterministic(server: EmulatorServer) -> None:
    with EmulatorServer(seed_orders=4) as other:
        mine = httpx.get(f"{server.base_url}/_emulator/sites/default/orders").json()["orders"]
        theirs = httpx.get(f"{other.base_url}/_emulator/sites/default/orders").json()["orders"]
    def strip(orders: list[dict[str, Any]]) -> list[Any]:
        return [(o["increment_id"], o["ext_order_id"], o["grand_total"]) for o in orders]
    assert strip(mine) == strip(theirs) and len(mine) == 4
