"""The WooCommerce emulator against store-apis.md part C, through plain httpx (not the product's client)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from returnbridge.emulators.woocommerce.server import EmulatorServer

API = "/wp-json/wc/v3"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as s:
        yield s


@pytest.fixture
def woo(server: EmulatorServer) -> Iterator[httpx.Client]:
    client = httpx.Client(base_url=server.base_url, auth=(server.consumer_key, server.consumer_secret), timeout=10)
    client.post("/_emulator/reset").raise_for_status()
    yield client
    client.close()


def order(woo: httpx.Client, **spec: Any) -> dict[str, Any]:
    body = {"tiktok_order_id": "T1", "lines": [{"sku": "RB-001", "quantity": 2, "price": "10.00"}],
            "shipping": "5.00", "tax_rate": "0.10", **spec}
    return woo.post("/_emulator/orders", json=body).json()


def stock(woo: httpx.Client) -> int:
    return woo.get("/_emulator/products").json()["products"][0]["stock_quantity"]


def test_refund_above_the_remaining_amount_is_woocommerces_500(woo: httpx.Client) -> None:
    o = order(woo)  # 20 + 2 tax + 5 shipping = 27.00
    assert woo.post(f"{API}/orders/{o['id']}/refunds", json={"amount": "20.00", "api_refund": False}).status_code == 201
    response = woo.post(f"{API}/orders/{o['id']}/refunds", json={"amount": "7.01", "api_refund": False})
    assert response.status_code == 500
    assert response.json() == {"code": "woocommerce_rest_cannot_create_order_refund",
                               "message": "Invalid refund amount.", "data": {"status": 500}}


def test_negative_amount_and_unknown_order(woo: httpx.Client) -> None:
    o = order(woo)
    bad = woo.post(f"{API}/orders/{o['id']}/refunds", json={"amount": "-1"})
    assert (bad.status_code, bad.json()["code"]) == (400, "woocommerce_rest_invalid_order_refund")
    missing = woo.post(f"{API}/orders/999999/refunds", json={"amount": "1"})
    assert (missing.status_code, missing.json()["code"]) == (404, "woocommerce_rest_invalid_order_id")


def test_api_refund_without_a_gateway_fails_and_keeps_nothing(woo: httpx.Client) -> None:
    o = order(woo)
    response = woo.post(f"{API}/orders/{o['id']}/refunds", json={"amount": "1.00"})
    assert response.status_code == 500
    assert response.json()["message"] == "The payment gateway for this order does not exist."
    assert woo.get(f"{API}/orders/{o['id']}/refunds").json() == []


def test_amount_is_the_lines_sum_only_when_every_line_names_its_numbers(woo: httpx.Client) -> None:
    o = order(woo)
    line = o["line_items"][0]
    rate = line["taxes"][0]["id"]
    full = {"id": line["id"], "quantity": 1, "refund_total": "10.00",
            "refund_tax": [{"id": rate, "refund_total": "1.00"}]}
    refund = woo.post(f"{API}/orders/{o['id']}/refunds", json={"api_refund": False, "line_items": [full]}).json()
    assert refund["amount"] == "11.00" and refund["line_items"][0]["quantity"] == -1
    partial = {"id": line["id"], "quantity": 1}
    refund = woo.post(f"{API}/orders/{o['id']}/refunds", json={"api_refund": False, "line_items": [partial]}).json()
    assert refund["amount"] == "0.00"


def test_api_restock_only_where_the_order_reduced_stock(woo: httpx.Client) -> None:
    reduced = order(woo)
    after_order = stock(woo)
    line = {"id": reduced["line_items"][0]["id"], "quantity": 1, "refund_total": "0"}
    woo.post(f"{API}/orders/{reduced['id']}/refunds", json={"amount": "0", "api_refund": False,
                                                            "line_items": [line]}).raise_for_status()
    assert stock(woo) == after_order + 1
    not_reduced = order(woo, reduced_stock=False)
    line = {"id": not_reduced["line_items"][0]["id"], "quantity": 1, "refund_total": "0"}
    woo.post(f"{API}/orders/{not_reduced['id']}/refunds", json={"amount": "0", "api_refund": False,
                                                                "line_items": [line]}).raise_for_status()
    assert stock(woo) == after_order + 1
    no_restock = {"amount": "0", "api_refund": False, "api_restock": False,
                  "line_items": [{**line, "id": reduced["line_items"][0]["id"]}]}
    woo.post(f"{API}/orders/{reduced['id']}/refunds", json=no_restock).raise_for_status()
    assert stock(woo) == after_order + 1


def test_full_refund_moves_the_order_to_refunded(woo: httpx.Client) -> None:
    o = order(woo)
    woo.post(f"{API}/orders/{o['id']}/refunds", json={"amount": o["total"], "api_refund": False})
    assert woo.get(f"{API}/orders/{o['id']}").json()["status"] == "refunded"


def test_both_auth_styles_and_the_errors(server: EmulatorServer, woo: httpx.Client) -> None:
    order(woo)
    bare = httpx.Client(base_url=server.base_url, timeout=10)
    query = {"consumer_key": server.consumer_key, "consumer_secret": server.consumer_secret}
    assert bare.get(f"{API}/orders", params=query).status_code == 200
    assert bare.get(f"{API}/orders").json()["code"] == "woocommerce_rest_cannot_view"
    wrong = bare.get(f"{API}/orders", auth=("ck_wrong", "x"))
    assert (wrong.status_code, wrong.json()["message"]) == (401, "Consumer key is invalid.")
    bare.close()


def test_paging_headers_and_search_ignores_meta(woo: httpx.Client) -> None:
    for i in range(25):
        order(woo, tiktok_order_id=f"TT{i}")
    page = woo.get(f"{API}/orders", params={"per_page": 10, "page": 3})
    assert (page.headers["X-WP-Total"], page.headers["X-WP-TotalPages"], len(page.json())) == ("25", "3", 5)
    assert woo.get(f"{API}/orders", params={"search": "TT3"}).json() == []
    assert woo.get(f"{API}/orders", params={"per_page": 101}).json()["code"] == "rest_invalid_param"


def test_commit_then_error_keeps_the_write(woo: httpx.Client) -> None:
    o = order(woo)
    woo.post("/_emulator/faults", json={"kind": "commit_then_error", "match": "notes.create"})
    assert woo.post(f"{API}/orders/{o['id']}/notes", json={"note": "hello"}).status_code == 502
    assert [n["note"] for n in woo.get(f"{API}/orders/{o['id']}/notes").json()] == ["hello"]
