"""Connecting TikTok shops: the browser flow through the emulator's consent page, state checks, auth codes, and the
shared service; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import TikTokAccount
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.accounts import AuthorizationFailed, ConnectedShop, connect_with_auth_code
from returnbridge.sync.runtime import Runtime
from returnbridge.web.app import create_app
from returnbridge.web.connect import COOKIE_NAME, ConnectState

from ..web.signing_in import sign_in_as
from .conftest import SERVICE_ID, Control

CALLBACK = "http://testserver/connect/tiktok/callback"


@pytest.fixture
def client(runtime: Runtime, control: Control) -> Iterator[TestClient]:
    control("POST", "/config", {"redirect_url": CALLBACK})
    try:
        with TestClient(create_app(runtime, on_webhook=lambda _id: None)) as test_client:
            sign_in_as(test_client, runtime, "admin")  # starting a connection is for admins
            yield test_client
    finally:
        control("POST", "/config", {"redirect_url": None})


@pytest.fixture
def seller(control: Control) -> dict[str, Any]:
    """A new seller with two shops, one of them with a name that is hostile in HTML."""
    first = control("POST", "/shops", {"region": "GB", "currency": "GBP", "name": "<script>alert(1)</script> & Co"})
    second = control("POST", "/shops", {"region": "DE", "currency": "EUR", "name": "Zweiter Laden",
                                         "seller_id": first["seller_id"]})
    return {"id": first["seller_id"], "shops": [first, second]}


def start(client: TestClient) -> str:
    """GET /connect/tiktok; the consent URL it redirects to."""
    response = client.get("/connect/tiktok", follow_redirects=False)
    assert response.status_code == 302
    return response.headers["location"]


def consent(consent_url: str, seller_id: str, decision: str = "authorize") -> str:
    """The seller opens TikTok's consent page and presses a button; the redirect back to us."""
    page = httpx.get(consent_url)
    assert page.status_code == 200
    assert seller_id in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    fields = {name: unescape(value) for name, value in fields.items()}
    fields.update(seller_id=seller_id, decision=decision)
    answer = httpx.post(consent_url.split("?")[0], data=fields)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def accounts(runtime: Runtime) -> list[TikTokAccount]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(TikTokAccount).order_by(TikTokAccount.id)))


# --- the browser flow ----------------------------------------------------------------------------------------------


def test_connect_sends_the_merchant_to_tiktok_consent_with_a_state_bound_to_the_browser(
    client: TestClient, emulator: EmulatorServer
) -> None:
    location = start(client)
    url = urlsplit(location)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{emulator.base_url}/open/authorize"
    query = parse_qs(url.query)
    assert query["service_id"] == [SERVICE_ID]
    nonce = query["state"][0].split(".")[0]
    assert client.cookies.get(COOKIE_NAME) == nonce


def test_full_consent_flow_connects_every_shop_of_the_seller_and_lists_them_escaped(
    client: TestClient, runtime: Runtime, seller: dict[str, Any]
) -> None:
    callback = consent(start(client), seller["id"])
    assert callback.startswith(CALLBACK)
    page = client.get(callback)
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page.text
    assert "<script>alert" not in page.text
    assert "Zweiter Laden" in page.text
    stored = accounts(runtime)
    assert sorted(a.shop_id for a in stored) == sorted(s["id"] for s in seller["shops"])
    assert {a.status for a in stored} == {"active"}
    assert {a.shop_cipher for a in stored} == {s["cipher"] for s in seller["shops"]}


def test_state_cannot_be_used_a_second_time_from_the_same_browser(
    client: TestClient, runtime: Runtime, seller: dict[str, Any]
) -> None:
    callback = consent(start(client), seller["id"])
    assert client.get(callback).status_code == 200
    again = client.get(callback)
    assert again.status_code == 400
    assert "already completed" in again.text


def test_callback_with_a_forged_state_is_refused_with_400(client: TestClient, runtime: Runtime) -> None:
    start(client)
    response = client.get("/connect/tiktok/callback", params={"code": "ROW_x", "state": "abc.1750000000.deadbeef"})
    assert response.status_code == 400
    assert "not one this server issued" in response.text
    assert accounts(runtime) == []


def test_callback_without_a_state_is_refused_with_400(client: TestClient) -> None:
    response = client.get("/connect/tiktok/callback", params={"code": "ROW_x"})
    assert response.status_code == 400
    assert "without a state" in response.text


def test_callback_with_an_expired_state_is_refused_with_400(
    client: TestClient, runtime: Runtime, control: Control, us_shop: dict[str, Any]
) -> None:
    issued_31_minutes_ago = ConnectState(runtime.settings.resolved_secret_key(), clock=lambda: time.time() - 31 * 60)
    state, nonce = issued_31_minutes_ago.issue()
    client.cookies.set(COOKIE_NAME, nonce)
    code = control("POST", "/auth/code", {"shop_id": us_shop["id"]})["code"]
    response = client.get("/connect/tiktok/callback", params={"code": code, "state": state})
    assert response.status_code == 400
    assert "expired" in response.text
    assert accounts(runtime) == []


def test_callback_in_a_browser_that_did_not_start_the_flow_is_refused_with_400(
    client: TestClient, runtime: Runtime, seller: dict[str, Any]
) -> None:
    callback = consent(start(client), seller["id"])
    client.cookies.clear()
    response = client.get(callback)
    assert response.status_code == 400
    assert "another browser" in response.text
    assert accounts(runtime) == []


def test_used_auth_code_is_refused_with_400_and_a_clear_message(
    client: TestClient, runtime: Runtime, control: Control, us_shop: dict[str, Any]
) -> None:
    code = control("POST", "/auth/code", {"shop_id": us_shop["id"]})["code"]
    connect_with_auth_code(runtime, code)
    state = parse_qs(urlsplit(start(client)).query)["state"][0]
    response = client.get("/connect/tiktok/callback", params={"code": code, "state": state})
    assert response.status_code == 400
    assert "already used" in response.text


def test_seller_cancelling_on_the_consent_page_connects_nothing(
    client: TestClient, runtime: Runtime, seller: dict[str, Any]
) -> None:
    callback = consent(start(client), seller["id"], decision="cancel")
    response = client.get(callback)
    assert response.status_code == 400
    assert "cancelled" in response.text
    assert accounts(runtime) == []


# --- the service shared with the CLI ------------------------------------------------------------------------------


def test_connecting_a_disabled_shop_again_makes_it_active_and_says_it_was_reconnected(
    runtime: Runtime, control: Control, us_shop: dict[str, Any]
) -> None:
    def connect_us_shop() -> ConnectedShop:
        code = control("POST", "/auth/code", {"shop_id": us_shop["id"]})["code"]
        return next(shop for shop in connect_with_auth_code(runtime, code) if shop.shop_id == us_shop["id"])

    first = connect_us_shop()
    with transaction(runtime.sessions) as session:
        found = session.get(TikTokAccount, first.account_id)
        assert found is not None
        found.status, found.status_reason = "disabled", "Deauthorized on TikTok: Seller revoked access"
    again = connect_us_shop()
    assert (again.account_id, again.reconnected, first.reconnected) == (first.account_id, True, False)
    with transaction(runtime.sessions) as session:
        stored = session.get(TikTokAccount, first.account_id)
        assert stored is not None
        assert (stored.status, stored.status_reason) == ("active", "")


def test_service_refuses_an_unknown_auth_code_and_stores_nothing(runtime: Runtime) -> None:
    with pytest.raises(AuthorizationFailed, match="wrong, expired"):
        connect_with_auth_code(runtime, "ROW_not-a-real-code")
    assert accounts(runtime) == []


def test_service_refuses_an_empty_auth_code_without_calling_tiktok(runtime: Runtime) -> None:
    with pytest.raises(AuthorizationFailed, match="No authorization code"):
        connect_with_auth_code(runtime, "  ")
