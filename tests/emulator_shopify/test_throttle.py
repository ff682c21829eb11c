"""Cost-based rate limiting and extensions.cost (store-apis.md A.7)."""

from __future__ import annotations

import time

from .conftest import Shopify

QUERY = "{ orders(first: 10) { nodes { id name } } }"


def test_every_answer_carries_the_cost_and_throttle_status(shop: Shopify) -> None:
    cost = shop.gql(QUERY)["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 2 + 10 * 1
    assert cost["actualQueryCost"] <= cost["requestedQueryCost"]
    status = cost["throttleStatus"]
    assert status["maximumAvailable"] == 2000.0 and status["restoreRate"] == 100.0
    assert 2000 - cost["requestedQueryCost"] <= status["currentlyAvailable"] <= 2000


def test_schema_errors_carry_the_cost_too(shop: Shopify) -> None:
    assert "throttleStatus" in shop.gql("{ shop { nope } }")["extensions"]["cost"]


def test_the_unused_part_of_the_requested_cost_is_given_back(shop: Shopify) -> None:
    cost = shop.gql("{ orders(first: 250, query: \"name:nothing\") { nodes { id } } }")["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 252 and cost["actualQueryCost"] == 2
    assert cost["throttleStatus"]["currentlyAvailable"] >= 1990


def test_an_empty_bucket_answers_throttled_with_http_200(shop: Shopify) -> None:
    shop.control("POST", "/config", {"restore_rate": 1})
    shop.control("POST", f"/stores/{shop.domain}/throttle", {"currently_available": 5})
    response = shop.post(QUERY)
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"] == "Throttled"
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["requestedQueryCost"] == 12
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 5


def test_the_bucket_refills_at_the_restore_rate(shop: Shopify) -> None:
    shop.control("POST", "/config", {"restore_rate": 100})
    shop.control("POST", f"/stores/{shop.domain}/throttle", {"currently_available": 0})
    assert shop.gql(QUERY)["errors"][0]["extensions"]["code"] == "THROTTLED"
    time.sleep(0.2)  # 20 points back, the query needs 12
    assert "errors" not in shop.gql(QUERY)


def test_a_query_above_the_single_query_cap_is_refused(shop: Shopify) -> None:
    body = shop.gql("{ orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id } } "
                    "returns(first: 250) { nodes { id } } } } }")
    [error] = body["errors"]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["message"].startswith(f"Query cost is {error['extensions']['cost']}, which exceeds the single "
                                       "query max cost limit (1000).")


def test_mutations_cost_ten_plus_their_selection(shop: Shopify) -> None:
    cost = shop.gql('mutation { returnClose(id: "gid://shopify/Return/1") { userErrors { code } } }')[
        "extensions"]["cost"]
    assert cost["requestedQueryCost"] == 11


def test_buckets_are_per_store(shop: Shopify) -> None:
    other = shop.control("POST", "/stores", {"domain": "bucket-two"})
    shop.control("POST", f"/stores/{shop.domain}/throttle", {"currently_available": 0})
    assert "errors" not in shop.gql(QUERY, token=other["token"])
