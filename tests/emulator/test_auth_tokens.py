"""Auth codes and tokens (contract §2): single use, expiry on the business clock, refresh rotation."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from returnbridge.emulators.tiktok.auth import DEFAULT_SCOPES, AppCredentials, AuthService
from returnbridge.emulators.tiktok.clock import Clock
from returnbridge.emulators.tiktok.errors import ApiError

NOW = 1_750_000_000
DAY = 24 * 3600


@dataclass(frozen=True)
class Seller:
    id: str
    name: str
    base_region: str


@pytest.fixture
def clock() -> Clock:
    return Clock(start=NOW)


@pytest.fixture
def auth(clock: Clock) -> AuthService:
    sellers = [Seller("7494", "Acme Outdoor", "US")]
    return AuthService(AppCredentials("key", "secret"), clock, lambda: sellers)


def exchange(auth: AuthService, code: str, **overrides: str) -> object:
    args = {"app_key": "key", "app_secret": "secret", "auth_code": code, "grant_type": "authorized_code"}
    args.update(overrides)
    return auth.exchange_code(**args)


def refresh(auth: AuthService, refresh_token: str, **overrides: str) -> object:
    args = {"app_key": "key", "app_secret": "secret", "refresh_token": refresh_token,
            "grant_type": "refresh_token"}
    args.update(overrides)
    return auth.refresh(**args)


def test_exchanged_code_gives_the_documented_token_fields_with_absolute_expiries(auth: AuthService) -> None:
    data = exchange(auth, auth.mint_code("7494").code).response_data()
    assert set(data) == {"access_token", "access_token_expire_in", "refresh_token", "refresh_token_expire_in",
                         "open_id", "seller_name", "seller_base_region", "user_type", "granted_scopes"}
    assert data["access_token"].startswith("TTP_") and data["refresh_token"].startswith("TTP_")
    assert data["access_token_expire_in"] == NOW + 7 * DAY
    assert data["refresh_token_expire_in"] == NOW + 365 * DAY
    assert (data["open_id"], data["seller_name"], data["seller_base_region"]) == ("7494", "Acme Outdoor", "US")
    assert data["user_type"] == 0
    assert data["granted_scopes"] == list(DEFAULT_SCOPES)


def test_auth_code_works_only_once(auth: AuthService) -> None:
    code = auth.mint_code("7494").code
    exchange(auth, code)
    with pytest.raises(ApiError) as caught:
        exchange(auth, code)
    assert caught.value.code == 36004004


def test_auth_code_expires_after_30_business_minutes(auth: AuthService, clock: Clock) -> None:
    code = auth.mint_code("7494").code
    clock.advance(30 * 60)
    with pytest.raises(ApiError) as caught:
        exchange(auth, code)
    assert caught.value.code == 36004004


def test_auth_code_is_still_good_just_before_30_minutes(auth: AuthService, clock: Clock) -> None:
    code = auth.mint_code("7494").code
    clock.advance(30 * 60 - 2)
    exchange(auth, code)


def test_unknown_auth_code_gets_36004004(auth: AuthService) -> None:
    with pytest.raises(ApiError) as caught:
        exchange(auth, "ROW_made_up")
    assert caught.value.code == 36004004


def test_wrong_app_secret_gets_36009004(auth: AuthService) -> None:
    with pytest.raises(ApiError) as caught:
        exchange(auth, auth.mint_code("7494").code, app_secret="nope")
    assert caught.value.code == 36009004


def test_wrong_grant_type_gets_36009004_and_leaves_the_code_usable(auth: AuthService) -> None:
    code = auth.mint_code("7494").code
    with pytest.raises(ApiError) as caught:
        exchange(auth, code, grant_type="authorization_code")
    assert caught.value.code == 36009004
    exchange(auth, code)


def test_refresh_mints_new_access_and_refresh_tokens(auth: AuthService, clock: Clock) -> None:
    first = exchange(auth, auth.mint_code("7494").code)
    clock.advance(DAY)
    second = refresh(auth, first.refresh_token)
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    assert second.access_expires_at == NOW + DAY + 7 * DAY
    assert second.refresh_expires_at == NOW + DAY + 365 * DAY


def test_old_access_token_stays_valid_after_refresh_until_its_expiry(auth: AuthService) -> None:
    first = exchange(auth, auth.mint_code("7494").code)
    refresh(auth, first.refresh_token)
    assert auth.token(first.access_token) is first
    assert first.access_expires_at == NOW + 7 * DAY


def test_old_refresh_token_stops_working_after_refresh(auth: AuthService) -> None:
    first = exchange(auth, auth.mint_code("7494").code)
    refresh(auth, first.refresh_token)
    with pytest.raises(ApiError) as caught:
        refresh(auth, first.refresh_token)
    assert caught.value.code == 36009004


def test_expired_refresh_token_is_refused(auth: AuthService, clock: Clock) -> None:
    first = exchange(auth, auth.mint_code("7494").code)
    clock.advance(365 * DAY)
    with pytest.raises(ApiError):
        refresh(auth, first.refresh_token)


def test_refresh_keeps_scopes_and_user_type(auth: AuthService) -> None:
    first = auth.issue("7494", scopes=["seller.order.info"], user_type=1)
    second = refresh(auth, first.refresh_token)
    assert (second.scopes, second.user_type) == (("seller.order.info",), 1)


def test_expire_ends_access_tokens_now_but_refresh_still_works(auth: AuthService, clock: Clock) -> None:
    token = auth.issue("7494")
    assert auth.expire("7494") == 1
    assert token.access_expires_at < clock.now()
    refresh(auth, token.refresh_token)


def test_revoke_ends_access_and_refresh_tokens(auth: AuthService) -> None:
    token = auth.issue("7494")
    auth.revoke("7494")
    assert auth.token(token.access_token) is None
    with pytest.raises(ApiError):
        refresh(auth, token.refresh_token)


def test_codes_and_tokens_for_unknown_sellers_are_refused(auth: AuthService) -> None:
    with pytest.raises(KeyError):
        auth.mint_code("nobody")
    with pytest.raises(KeyError):
        auth.issue("nobody")
