"""The control API read-back, reset, and deterministic seeding."""

from __future__ import annotations

from returnbridge.emulators.shopify.app import EmulatorApp
from returnbridge.emulators.shopify.snapshot import state

from .conftest import REFUND_CREATE, Shopify
from .test_refunds import refund_input


def _state(seed: int) -> dict:
    app = EmulatorApp(seed=seed)
    with app.world.lock:
        return state(app.world.stores_by_domain[app.default_domain])


def test_the_same_seed_gives_the_same_store() -> None:
    assert _state(3) == _state(3)


def test_another_seed_gives_another_store() -> None:
    assert _state(3)["orders"] != _state(4)["orders"]


def test_seeded_orders_cover_every_lookup_style(shop: Shopify) -> None:
    orders = shop.store("/orders")["orders"]
    assert any(o["source_identifier"] for o in orders)
    assert any(o["custom_attributes"] for o in orders)
    assert any(o["metafields"] for o in orders)
    assert any(o["note"] for o in orders)
    assert any(not o["name"].startswith("#") for o in orders)


def test_state_reads_back_refunds_with_amounts(shop: Shopify) -> None:
    order = shop.new_order("c1", lines=[{"sku": shop.variant()["sku"], "quantity": 1, "price": "12.50"}],
                           shipping="5.00", tax_rate="0.10")
    assert order["total"] == "18.75"
    shop.gql(REFUND_CREATE, {"in": refund_input(order, amount="13.75"), "key": "c1"})
    current = shop.store("/state")
    [refund] = current["refunds"]
    assert refund["total_refunded"] == "13.75" and refund["transactions"][0]["kind"] == "REFUND"
    assert current["idempotency_keys"] == ["c1"]
    order_now = next(o for o in current["orders"] if o["id"] == order["id"])
    assert order_now["net_payment"] == "5.0" and order_now["financial_status"] == "PARTIALLY_REFUNDED"


def test_reset_forgets_everything_made_since_start(shop: Shopify) -> None:
    shop.new_order("c2")
    shop.control("POST", "/stores", {"domain": "temp-shop"})
    shop.control("POST", "/reset")
    assert [s["domain"] for s in shop.control("GET", "/stores")["stores"]] == [shop.domain]
    assert len(shop.store("/orders")["orders"]) == 12


def test_unstocking_an_item_through_the_control_api(shop: Shopify) -> None:
    variant = shop.variant()
    location = shop.store()["locations"][0]["id"]
    shop.control("POST", f"/stores/{shop.domain}/inventory",
                 {"inventory_item_id": variant["inventory_item_id"], "location_id": location, "remove": True})
    assert shop.level(variant["inventory_item_id"], location) is None


def test_unknown_store_is_a_404(shop: Shopify) -> None:
    assert shop.http.get("/_emulator/stores/nope.myshopify.com").status_code == 404


def test_the_index_lists_the_endpoints(shop: Shopify) -> None:
    paths = {e["path"] for e in shop.control("GET", "/")["endpoints"]}
    assert "/_emulator/stores/{domain}/adjustments" in paths and "/_emulator/faults" in paths
