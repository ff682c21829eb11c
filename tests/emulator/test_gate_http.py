"""Each gatekeeping step wired into the HTTP server: the documented code, HTTP status and keyword message."""

from __future__ import annotations

import time
from typing import Any

import pytest

SEARCH = "/return_refund/202309/returns/search"


@pytest.fixture
def client(shared_emulator: Any, make_client: Any) -> Any:
    return make_client(shared_emulator)


def other_sellers_cipher(server: Any, control_api: Any, client: Any) -> str:
    shops = control_api(server, "GET", "/shops")["shops"]
    mine = next(s for s in shops if s["cipher"] == client.shop_cipher)
    return next(s["cipher"] for s in shops if s["seller_id"] != mine["seller_id"])


def expect(response: Any, code: int, status: int, phrase: str | None = None) -> dict:
    body = response.json()
    assert (body["code"], response.status_code) == (code, status), body
    if phrase is not None:
        assert body["message"].startswith(phrase), body["message"]
    assert body["data"] is None
    return body


def test_unknown_app_key_gets_36009004_http_400(client: Any) -> None:
    client.app_key = "someone-else"
    expect(client.request("POST", SEARCH, json={}), 36009004, 400, "Invalid credentials.")


def test_missing_sign_gets_missing_credentials(client: Any) -> None:
    expect(client.request("POST", SEARCH, json={}, omit=("sign",)), 36009004, 400, "Missing credentials.")


def test_stale_timestamp_gets_invalid_timestamp(client: Any) -> None:
    response = client.request("POST", SEARCH, json={}, timestamp=int(time.time()) - 400)
    expect(response, 36009004, 400, "Invalid timestamp.")


def test_signature_with_the_wrong_secret_gets_106001(client: Any) -> None:
    expect(client.request("POST", SEARCH, json={}, sign_with="not-the-secret"), 106001, 401)


def test_body_changed_after_signing_gets_106001(client: Any, signer: Any) -> None:
    query = {"app_key": client.app_key, "timestamp": str(int(time.time())), "shop_cipher": client.shop_cipher}
    query["sign"] = signer(client.app_secret, SEARCH, query, b"{}")
    response = client.http.post(f"{client.base_url}{SEARCH}", params=query, content=b"{ }",
                                headers={"content-type": "application/json", "x-tts-access-token": client.token})
    expect(response, 106001, 401)


def test_missing_token_header_gets_36009004(client: Any) -> None:
    expect(client.request("POST", SEARCH, json={}, token=None), 36009004, 401, "Invalid credentials.")


def test_expired_token_gets_105002(shared_emulator: Any, make_client: Any, control_api: Any) -> None:
    client = make_client(shared_emulator, access_ttl_seconds=-1)
    expect(client.request("POST", SEARCH, json={}), 105002, 401)


def test_missing_shop_cipher_gets_106013(client: Any) -> None:
    expect(client.request("POST", SEARCH, json={}, shop_cipher=None), 106013, 400, "Missing identifier.")


def test_shop_cipher_on_authorization_shops_gets_unexpected_identifier(client: Any) -> None:
    expect(client.request("GET", "/authorization/202309/shops"), 36009004, 400, "Unexpected identifier.")


def test_unknown_shop_cipher_gets_invalid_shop(client: Any) -> None:
    expect(client.request("POST", SEARCH, json={}, shop_cipher="ROW_unknown"), 36009004, 400, "Invalid shop.")


def test_other_sellers_shop_gets_101000(shared_emulator: Any, client: Any, control_api: Any) -> None:
    cipher = other_sellers_cipher(shared_emulator, control_api, client)
    expect(client.request("POST", SEARCH, json={}, shop_cipher=cipher), 101000, 400)


def test_creator_token_on_return_api_gets_101000(shared_emulator: Any, make_client: Any) -> None:
    client = make_client(shared_emulator, user_type=1)
    expect(client.request("POST", SEARCH, json={}), 101000, 400)


def test_token_without_return_scope_gets_105005_http_401(shared_emulator: Any, make_client: Any) -> None:
    client = make_client(shared_emulator, scopes=["seller.order.info"])
    expect(client.request("POST", SEARCH, json={}), 105005, 401, "Access denied.")


def test_rate_limit_gets_429_with_retry_after(emulator_factory: Any, make_client: Any) -> None:
    client = make_client(emulator_factory(rps=2))
    client.request("GET", "/authorization/202309/shops", shop_cipher=None)
    client.request("GET", "/authorization/202309/shops", shop_cipher=None)
    response = client.request("GET", "/authorization/202309/shops", shop_cipher=None)
    expect(response, 36009002, 429)
    assert response.headers["retry-after"] == "1"


def test_rate_limit_buckets_are_per_api(emulator_factory: Any, make_client: Any) -> None:
    client = make_client(emulator_factory(rps=1))
    assert client.request("GET", "/authorization/202309/shops", shop_cipher=None).status_code == 200
    assert client.call("GET", "/event/202309/webhooks")["code"] == 0


def test_non_json_body_on_a_json_endpoint_gets_36009022(client: Any) -> None:
    response = client.request("POST", SEARCH, content=b"return_ids=1", headers={"content-type": "text/plain"})
    expect(response, 36009022, 400)


def test_malformed_json_body_gets_36009022(client: Any) -> None:
    expect(client.request("POST", SEARCH, content=b'{"return_ids": ['), 36009022, 400)


def test_json_array_body_gets_36009022(client: Any) -> None:
    expect(client.request("POST", SEARCH, content=b"[]"), 36009022, 400)


def test_absent_body_on_search_gets_36009022(client: Any) -> None:
    expect(client.request("POST", SEARCH), 36009022, 400)


def test_gate_runs_before_body_validation(client: Any) -> None:
    response = client.request("POST", SEARCH, content=b"not json", token=None)
    expect(response, 36009004, 401)
