"""Routing (contract §8.1): envelopes, unknown paths and methods, versions, approve-cancellation bodies."""

from __future__ import annotations

import re
from typing import Any

import pytest

REQUEST_ID = re.compile(r"^\d{14}[0-9A-F]{20}$")


@pytest.fixture
def client(shared_emulator: Any, make_client: Any) -> Any:
    return make_client(shared_emulator)


def test_success_envelope_has_code_message_request_id_and_data(client: Any) -> None:
    body = client.call("GET", "/authorization/202309/shops", shop_cipher=None)
    assert list(body) == ["code", "message", "request_id", "data"]
    assert (body["code"], body["message"]) == (0, "Success")
    assert REQUEST_ID.match(body["request_id"])


def test_request_ids_differ_between_calls(client: Any) -> None:
    first = client.call("GET", "/authorization/202309/shops", shop_cipher=None)["request_id"]
    second = client.call("GET", "/authorization/202309/shops", shop_cipher=None)["request_id"]
    assert first != second


def test_unknown_path_gets_36009009_http_404(client: Any) -> None:
    response = client.request("GET", "/return_refund/202309/returns/123")
    assert response.status_code == 404
    assert response.json()["code"] == 36009009
    assert REQUEST_ID.match(response.json()["request_id"])


def test_unknown_version_is_an_unknown_path(client: Any) -> None:
    response = client.request("POST", "/return_refund/202401/returns/search", json={})
    assert (response.status_code, response.json()["code"]) == (404, 36009009)


def test_known_path_with_the_wrong_method_gets_36009010_http_405(client: Any) -> None:
    response = client.request("GET", "/return_refund/202309/returns/search")
    assert (response.status_code, response.json()["code"]) == (405, 36009010)


def test_authorized_shops_lists_only_the_token_sellers_shops(shared_emulator: Any, client: Any,
                                                             control_api: Any) -> None:
    shops = control_api(shared_emulator, "GET", "/shops")["shops"]
    mine = next(s for s in shops if s["cipher"] == client.shop_cipher)
    expected = sorted(s["id"] for s in shops if s["seller_id"] == mine["seller_id"])
    data = client.call("GET", "/authorization/202309/shops", shop_cipher=None)["data"]
    assert sorted(s["id"] for s in data["shops"]) == expected
    assert set(data["shops"][0]) == {"id", "name", "region", "seller_type", "cipher", "code"}


@pytest.mark.parametrize("path", [
    "/return_refund/202309/returns/search",
    "/return_refund/202602/returns/search",
    "/return_refund/202309/cancellations/search",
    "/return_refund/202602/cancellations/search",
])
def test_search_endpoints_are_served_in_both_versions(client: Any, path: str) -> None:
    body = client.call("POST", path, json={}, query={"page_size": "10"})
    assert body["code"] == 0, body
    assert "total_count" in body["data"]


def test_approve_cancellation_accepts_an_absent_body(client: Any) -> None:
    body = client.call("POST", "/return_refund/202309/cancellations/1234567890/approve", content=None)
    assert body["code"] not in (36009022, 106001, 36009004)


def test_approve_cancellation_accepts_an_empty_object(client: Any) -> None:
    body = client.call("POST", "/return_refund/202309/cancellations/1234567890/approve", json={})
    assert body["code"] not in (36009022, 106001, 36009004)


def test_business_errors_travel_with_http_200(client: Any) -> None:
    response = client.request("POST", "/return_refund/202309/returns/999/approve",
                              json={"decision": "APPROVE_REFUND"})
    assert response.status_code == 200
    assert response.json()["code"] not in (0, 36009004)


def test_control_api_404_for_unknown_endpoint(shared_emulator: Any) -> None:
    import httpx

    response = httpx.get(f"{shared_emulator.base_url}/_emulator/nothing-here")
    assert response.status_code == 404
