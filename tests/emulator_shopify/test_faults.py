"""Injected faults, each kind, and the idempotent retry after a lost response."""

from __future__ import annotations

import time

import httpx
import pytest

from .conftest import ADJUST, Shopify
from .test_inventory import adjust_input, main_location

QUERY = "{ shop { name } }"


def test_an_http_error_answers_5xx_and_runs_nothing(shop: Shopify) -> None:
    shop.control("POST", "/faults", {"kind": "http_error", "http_status": 500, "match": "inventoryAdjustQuantities"})
    item = shop.variant()["inventory_item_id"]
    response = shop.post(ADJUST, {"in": adjust_input(item, main_location(shop)), "key": "k"})
    assert response.status_code == 500
    assert shop.store("/adjustments")["adjustments"] == []
    assert shop.post(QUERY).status_code == 200  # one request only


def test_a_429_carries_retry_after(shop: Shopify) -> None:
    shop.control("POST", "/faults", {"kind": "http_429", "retry_after": 2, "count": 2})
    responses = [shop.post(QUERY) for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].headers["retry-after"] == "2.0"


def test_a_throttled_burst(shop: Shopify) -> None:
    shop.control("POST", "/faults", {"kind": "throttled", "count": 2})
    codes = [shop.post(QUERY).json().get("errors", [{}])[0].get("extensions", {}).get("code") for _ in range(3)]
    assert codes == ["THROTTLED", "THROTTLED", None]


def test_latency_delays_the_answer(shop: Shopify) -> None:
    shop.control("POST", "/faults", {"kind": "latency", "delay_ms": 300})
    started = time.perf_counter()
    assert shop.post(QUERY).status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_a_timeout_drops_the_connection(shop: Shopify) -> None:
    shop.control("POST", "/faults", {"kind": "timeout", "delay_ms": 50})
    with pytest.raises(httpx.TransportError):
        shop.post(QUERY)


def test_commit_then_error_applies_the_mutation_and_a_retry_with_the_key_replays(shop: Shopify) -> None:
    item = shop.variant()["inventory_item_id"]
    location = main_location(shop)
    before = shop.level(item, location)["available"]
    shop.control("POST", "/faults", {"kind": "commit_then_error", "match": "inventoryAdjustQuantities"})
    variables = {"in": adjust_input(item, location, 1), "key": "lost-response"}
    assert shop.post(ADJUST, variables).status_code == 502
    assert shop.level(item, location)["available"] == before + 1  # it happened
    retry = shop.gql(ADJUST, variables)["data"]["inventoryAdjustQuantities"]
    assert retry["userErrors"] == [] and retry["inventoryAdjustmentGroup"] is not None
    assert shop.level(item, location)["available"] == before + 1  # and only once
    log = shop.control("GET", "/requests")["requests"]
    assert [(r["fault"], r["mutated"], r["replayed"]) for r in log[-2:]] == [
        ("commit_then_error", ["inventoryAdjustQuantities"], []), (None, [], ["inventoryAdjustQuantities"])]


def test_drop_with_commit_runs_the_operation_before_closing(shop: Shopify) -> None:
    item = shop.variant()["inventory_item_id"]
    location = main_location(shop)
    shop.control("POST", "/faults", {"kind": "drop", "commit": True})
    with pytest.raises(httpx.TransportError):
        shop.post(ADJUST, {"in": adjust_input(item, location, 3), "key": "dropped"})
    assert len(shop.store("/adjustments")["adjustments"]) == 1


def test_faults_can_be_listed_and_cleared(shop: Shopify) -> None:
    shop.control("POST", "/faults", {"kind": "http_error", "count": 5})
    assert shop.control("GET", "/faults")["scripted"][0]["remaining"] == 5
    assert shop.control("DELETE", "/faults") == {"cleared": 1}
    assert shop.post(QUERY).status_code == 200


def test_an_unknown_fault_kind_is_a_400(shop: Shopify) -> None:
    assert shop.http.post("/_emulator/faults", json={"kind": "meteor"}).status_code == 400
