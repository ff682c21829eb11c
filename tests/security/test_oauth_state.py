"""The OAuth ``state`` of the TikTok connection: the callback refuses a missing, forged, expired, other browser's or
already used state with 400 before any auth code is exchanged, and stores no account. The full consent flow through
the emulator is in ``tests/integration/test_connect.py``; here TikTok's token host is a closed port, so any
exchange would fail loudly with 502 instead of 400."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from returnbridge.db.engine import transaction
from returnbridge.db.models import TikTokAccount
from returnbridge.sync.runtime import Runtime
from returnbridge.web.app import create_app
from returnbridge.web.connect import COOKIE_NAME, ConnectState

from ..web.signing_in import sign_in_as

CLOSED_PORT = "http://127.0.0.1:9"  # discard: nothing listens, a connection is refused at once
CALLBACK = "/connect/tiktok/callback"


@pytest.fixture
def connecting(make_runtime: Callable[..., Runtime]) -> tuple[Runtime, TestClient]:
    runtime = make_runtime(tiktok_app_key="k", tiktok_app_secret="s", tiktok_service_id="svc",
                           tiktok_auth_base=CLOSED_PORT, tiktok_api_base=CLOSED_PORT)
    return runtime, TestClient(create_app(runtime, on_webhook=lambda _id: None))


def start(client: TestClient, runtime: Runtime) -> str:
    """An admin starts a connection; the state TikTok would send back."""
    sign_in_as(client, runtime, "admin")
    consent = client.get("/connect/tiktok", follow_redirects=False)
    assert consent.status_code == 302 and client.cookies.get(COOKIE_NAME)
    return parse_qs(urlsplit(consent.headers["location"]).query)["state"][0]


def no_account(runtime: Runtime) -> bool:
    with transaction(runtime.sessions) as session:
        return session.scalar(select(func.count()).select_from(TikTokAccount)) == 0


def test_a_callback_without_state_is_refused(connecting: tuple[Runtime, TestClient]) -> None:
    runtime, client = connecting
    start(client, runtime)
    response = client.get(CALLBACK, params={"code": "ROW_code"})
    assert response.status_code == 400 and "without a state" in response.text
    assert no_account(runtime)


@pytest.mark.parametrize("tamper", [
    lambda state: state[:-1] + ("0" if state[-1] != "0" else "1"),  # signature changed
    lambda state: "x" + state,  # nonce changed, signature kept
    lambda state: ConnectState("another-secret-key").issue()[0],  # signed with another server's key
    lambda state: "not-a-state",
], ids=["signature", "nonce", "other-key", "garbage"])
def test_a_forged_state_is_refused(connecting: tuple[Runtime, TestClient], tamper: Callable[[str], str]) -> None:
    runtime, client = connecting
    state = start(client, runtime)
    response = client.get(CALLBACK, params={"code": "ROW_code", "state": tamper(state)})
    assert response.status_code == 400 and "not one this server issued" in response.text
    assert no_account(runtime)


@pytest.mark.parametrize("issued_ago", [31 * 60, -5 * 60], ids=["expired", "from-the-future"])
def test_a_state_outside_its_lifetime_is_refused(connecting: tuple[Runtime, TestClient], issued_ago: int) -> None:
    runtime, client = connecting
    start(client, runtime)
    state, nonce = ConnectState(runtime.settings.resolved_secret_key(),
                                clock=lambda: time.time() - issued_ago).issue()
    client.cookies.set(COOKIE_NAME, nonce, path="/connect/tiktok")
    response = client.get(CALLBACK, params={"code": "ROW_code", "state": state})
    assert response.status_code == 400 and "expired" in response.text
    assert no_account(runtime)


def test_a_state_from_another_browser_is_refused(connecting: tuple[Runtime, TestClient]) -> None:
    runtime, client = connecting
    state = start(client, runtime)
    with TestClient(client.app) as victim:
        sign_in_as(victim, runtime, "admin", email="victim@example.com")
        response = victim.get(CALLBACK, params={"code": "ROW_attackers_code", "state": state})
    assert response.status_code == 400 and "another browser" in response.text
    assert no_account(runtime)


def test_a_state_is_spent_by_its_first_use_even_when_tiktok_fails(connecting: tuple[Runtime, TestClient]) -> None:
    runtime, client = connecting
    state = start(client, runtime)
    first = client.get(CALLBACK, params={"code": "ROW_code", "state": state})
    assert first.status_code == 502  # the state passed; TikTok's token host did not answer
    again = client.get(CALLBACK, params={"code": "ROW_other_code", "state": state})
    assert again.status_code == 400 and "already completed" in again.text
    assert no_account(runtime)
