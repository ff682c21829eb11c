"""Auth host and consent page over HTTP (contract §2): the whole authorization-code flow."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

REDIRECT = "http://127.0.0.1:9/tiktok/callback?tenant=7"


@pytest.fixture(scope="module")
def server() -> Any:
    from returnbridge.emulators.tiktok.server import EmulatorServer

    with EmulatorServer(app_key="auth-key", app_secret="auth-secret", redirect_url=REDIRECT,
                        service_id="svc-123", rps=0) as running:
        yield running


def first_seller(server: Any) -> dict:
    return httpx.get(f"{server.base_url}/_emulator/sellers").json()["sellers"][0]


def authorize(server: Any, state: str = "xyz", decision: str = "authorize") -> httpx.Response:
    seller = first_seller(server)
    return httpx.post(f"{server.base_url}/open/authorize",
                      data={"service_id": "svc-123", "state": state, "seller_id": seller["id"],
                            "decision": decision})


def redirect_params(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("http://127.0.0.1:9/tiktok/callback?")
    return parse_qs(urlsplit(location).query)


def get_token(server: Any, code: str, **overrides: str) -> httpx.Response:
    params = {"app_key": "auth-key", "app_secret": "auth-secret", "auth_code": code,
              "grant_type": "authorized_code", **overrides}
    return httpx.get(f"{server.base_url}/api/v2/token/get", params=params)


def test_consent_page_lists_every_seller_with_their_shops(server: Any) -> None:
    page = httpx.get(f"{server.base_url}/open/authorize", params={"service_id": "svc-123", "state": "s1"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    sellers = httpx.get(f"{server.base_url}/_emulator/sellers").json()["sellers"]
    shops = httpx.get(f"{server.base_url}/_emulator/shops").json()["shops"]
    for seller in sellers:
        assert f'name="seller_id" value="{seller["id"]}"' in page.text
    for shop in shops:
        assert shop["name"].replace("&", "&amp;").replace("'", "&#x27;") in page.text
    assert page.text.count(">Authorize</button>") == len(sellers)
    assert ">Cancel</button>" in page.text


def test_consent_page_escapes_the_state(server: Any) -> None:
    page = httpx.get(f"{server.base_url}/open/authorize",
                     params={"service_id": "svc-123", "state": '"><script>alert(1)</script>'})
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_consent_page_for_an_unknown_service_id_is_refused(server: Any) -> None:
    page = httpx.get(f"{server.base_url}/open/authorize", params={"service_id": "other", "state": "s"})
    assert page.status_code == 400


def test_authorize_redirects_with_code_and_state_keeping_the_redirect_query(server: Any) -> None:
    params = redirect_params(authorize(server, state="csrf-42"))
    assert params["state"] == ["csrf-42"]
    assert params["tenant"] == ["7"]
    assert params["code"][0] not in ("", "null")


def test_cancel_redirects_with_code_null_and_auth_denied(server: Any) -> None:
    params = redirect_params(authorize(server, state="csrf-43", decision="cancel"))
    assert params["code"] == ["null"]
    assert params["error"] == ["auth_denied"]
    assert params["state"] == ["csrf-43"]


def test_legacy_oauth_authorize_path_uses_the_app_key(server: Any) -> None:
    page = httpx.get(f"{server.base_url}/oauth/authorize", params={"app_key": "auth-key", "state": "s"})
    assert page.status_code == 200
    assert 'action="/oauth/authorize"' in page.text
    seller = first_seller(server)
    response = httpx.post(f"{server.base_url}/oauth/authorize",
                          data={"app_key": "auth-key", "state": "s", "seller_id": seller["id"],
                                "decision": "authorize"})
    assert redirect_params(response)["code"][0] != "null"


def test_code_from_the_consent_page_gets_a_token(server: Any) -> None:
    code = redirect_params(authorize(server))["code"][0]
    body = get_token(server, code).json()
    assert (body["code"], body["message"]) == (0, "success")
    data = body["data"]
    assert data["open_id"] == first_seller(server)["id"]
    now = httpx.get(f"{server.base_url}/_emulator/clock").json()["now"]
    assert abs(data["access_token_expire_in"] - (now + 7 * 86400)) <= 2
    assert abs(data["refresh_token_expire_in"] - (now + 365 * 86400)) <= 2
    assert "seller.return_refund.basic" in data["granted_scopes"]


def test_auth_code_is_single_use_over_http(server: Any) -> None:
    code = redirect_params(authorize(server))["code"][0]
    assert get_token(server, code).json()["code"] == 0
    assert get_token(server, code).json()["code"] == 36004004


def test_auth_code_expires_after_30_minutes_of_business_time(server: Any) -> None:
    code = redirect_params(authorize(server))["code"][0]
    httpx.post(f"{server.base_url}/_emulator/clock/advance", json={"seconds": 1801})
    assert get_token(server, code).json()["code"] == 36004004


def test_wrong_secret_on_token_get_gets_36009004(server: Any) -> None:
    code = redirect_params(authorize(server))["code"][0]
    assert get_token(server, code, app_secret="nope").json()["code"] == 36009004


def test_wrong_grant_type_on_token_get_gets_36009004(server: Any) -> None:
    code = redirect_params(authorize(server))["code"][0]
    assert get_token(server, code, grant_type="refresh_token").json()["code"] == 36009004


def test_refresh_rotates_both_tokens_and_the_old_access_token_keeps_working(server: Any,
                                                                             make_client: Any) -> None:
    code = redirect_params(authorize(server))["code"][0]
    first = get_token(server, code).json()["data"]
    refreshed = httpx.get(f"{server.base_url}/api/v2/token/refresh", params={
        "app_key": "auth-key", "app_secret": "auth-secret", "refresh_token": first["refresh_token"],
        "grant_type": "refresh_token"}).json()
    assert (refreshed["code"], refreshed["message"]) == (0, "success")
    second = refreshed["data"]
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    client = make_client(server)
    for token in (first["access_token"], second["access_token"]):
        body = client.call("GET", "/authorization/202309/shops", shop_cipher=None, token=token)
        assert body["code"] == 0
    again = httpx.get(f"{server.base_url}/api/v2/token/refresh", params={
        "app_key": "auth-key", "app_secret": "auth-secret", "refresh_token": first["refresh_token"],
        "grant_type": "refresh_token"}).json()
    assert again["code"] == 36009004


def test_token_endpoints_are_not_signed_and_refuse_post(server: Any) -> None:
    response = httpx.post(f"{server.base_url}/api/v2/token/get")
    assert (response.status_code, response.json()["code"]) == (405, 36009010)
