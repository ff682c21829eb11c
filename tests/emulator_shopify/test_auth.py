"""Endpoint, token and version handling (store-apis.md A.1, A.9)."""

from __future__ import annotations

from .conftest import Shopify

QUERY = "{ shop { name currencyCode } }"
BAD_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


def test_a_wrong_token_gets_401_with_shopifys_string_errors_body(shop: Shopify) -> None:
    response = shop.post(QUERY, token="shpat_wrong")
    assert response.status_code == 401
    assert response.json() == {"errors": BAD_TOKEN}


def test_a_missing_token_gets_401(shop: Shopify) -> None:
    response = shop.http.post("/admin/api/2026-04/graphql.json", json={"query": QUERY})
    assert response.status_code == 401
    assert response.json()["errors"] == BAD_TOKEN


def test_the_right_token_reads_the_shop_and_reports_the_version(shop: Shopify) -> None:
    response = shop.post(QUERY)
    assert response.headers["x-shopify-api-version"] == "2026-04"
    assert response.json()["data"] == {"shop": {"name": "Returnbridge Emulator", "currencyCode": "USD"}}


def test_an_unsupported_version_falls_forward_to_the_oldest_supported(shop: Shopify) -> None:
    response = shop.post(QUERY, path="/admin/api/2023-01/graphql.json")
    assert response.status_code == 200
    assert response.headers["x-shopify-api-version"] == "2025-07"


def test_no_version_in_the_path_falls_forward_too(shop: Shopify) -> None:
    response = shop.post(QUERY, path="/admin/api/graphql.json")
    assert response.headers["x-shopify-api-version"] == "2025-07"
    assert response.json()["data"]["shop"]["currencyCode"] == "USD"


def test_a_body_without_query_is_a_400(shop: Shopify) -> None:
    response = shop.http.post("/admin/api/2026-04/graphql.json", json={"variables": {}},
                              headers={"X-Shopify-Access-Token": shop.server.token})
    assert response.status_code == 400
    assert response.json() == {"errors": {"query": "Required parameter missing or invalid"}}


def test_each_store_has_its_own_token(shop: Shopify) -> None:
    created = shop.control("POST", "/stores", {"domain": "second-shop", "currency": "EUR"})
    assert created["domain"] == "second-shop.myshopify.com"
    body = shop.gql(QUERY, token=created["token"])
    assert body["data"]["shop"]["currencyCode"] == "EUR"
