"""Gatekeeping steps 1–9 of contract §8.2, one error per test, against a tiny in-test shop table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from returnbridge.emulators.tiktok.auth import (
    SCOPE_AUTHORIZATION,
    SCOPE_RETURN_REFUND,
    AppCredentials,
    AuthService,
    Token,
)
from returnbridge.emulators.tiktok.clock import Clock
from returnbridge.emulators.tiktok.gate import Gate, GateError, RouteAccess
from returnbridge.emulators.tiktok.ratelimit import RateLimiter

NOW = 1_750_000_000
PATH = "/return_refund/202309/returns/search"
RETURNS = RouteAccess(shop_scoped=True, scope=SCOPE_RETURN_REFUND, seller_token_only=True)
SHOPS_API = RouteAccess(shop_scoped=False, scope=SCOPE_AUTHORIZATION)


@dataclass(frozen=True)
class TinyShop:
    id: str
    cipher: str
    seller_id: str


@dataclass(frozen=True)
class TinySeller:
    id: str
    name: str
    base_region: str


@dataclass
class TinyShops:
    shops: list[TinyShop] = field(default_factory=lambda: [
        TinyShop("7001", "ROW_one", "seller-a"),
        TinyShop("7002", "ROW_two", "seller-b"),
    ])

    def shop_by_cipher(self, cipher: str) -> TinyShop | None:
        return next((s for s in self.shops if s.cipher == cipher), None)


@dataclass
class Setup:
    gate: Gate
    auth: AuthService
    clock: Clock
    token: Token
    sign: Callable[..., str]

    def admit(self, *, path: str = PATH, query: dict[str, str] | None = None, body: bytes = b"{}",
              token: str | None = "default", access: RouteAccess = RETURNS, resign: bool = True,
              cipher: str | None = "ROW_one") -> object:
        params = {"app_key": "key", "timestamp": str(NOW)}
        if cipher is not None:
            params["shop_cipher"] = cipher
        params.update(query or {})
        if resign:
            params["sign"] = self.sign("secret", path, params, body)
        return self.gate.admit(path=path, api=path, query=params, signed_body=body,
                               access_token=self.token.access_token if token == "default" else token,
                               access=access)


@pytest.fixture
def setup(signer: Callable[..., str]) -> Setup:
    clock = Clock(start=NOW)
    app = AppCredentials("key", "secret")
    sellers = [TinySeller("seller-a", "A", "US"), TinySeller("seller-b", "B", "GB")]
    auth = AuthService(app, clock, lambda: sellers)
    gate = Gate(app=app, auth=auth, shops=TinyShops(), clock=clock, limiter=RateLimiter(3),
                wall_clock=lambda: float(NOW))
    return Setup(gate, auth, clock, auth.issue("seller-a"), signer)


def error_of(call: Callable[[], object]) -> GateError:
    with pytest.raises(GateError) as caught:
        call()
    return caught.value


def test_a_correct_request_is_admitted_with_its_shop(setup: Setup) -> None:
    admission = setup.admit()
    assert admission.shop.id == "7001"
    assert admission.token is setup.token


def test_unknown_app_key_gets_36009004_invalid_credentials_http_400(setup: Setup) -> None:
    error = error_of(lambda: setup.admit(query={"app_key": "other"}))
    assert (error.code, error.http_status) == (36009004, 400)
    assert error.message.startswith("Invalid credentials.")
    assert "app_key" in error.message


def test_missing_sign_gets_36009004_missing_credentials(setup: Setup) -> None:
    error = error_of(lambda: setup.admit(resign=False))
    assert error.code == 36009004
    assert error.message.startswith("Missing credentials.")


def test_timestamp_older_than_300_seconds_gets_invalid_timestamp(setup: Setup) -> None:
    error = error_of(lambda: setup.admit(query={"timestamp": str(NOW - 301)}))
    assert error.code == 36009004
    assert error.message.startswith("Invalid timestamp.")


def test_timestamp_more_than_30_seconds_ahead_gets_invalid_timestamp(setup: Setup) -> None:
    error = error_of(lambda: setup.admit(query={"timestamp": str(NOW + 31)}))
    assert error.message.startswith("Invalid timestamp.")


def test_timestamp_at_both_window_edges_is_accepted(setup: Setup) -> None:
    setup.admit(query={"timestamp": str(NOW - 300)})
    setup.admit(query={"timestamp": str(NOW + 30)})


def test_non_numeric_timestamp_gets_invalid_timestamp(setup: Setup) -> None:
    error = error_of(lambda: setup.admit(query={"timestamp": "yesterday"}))
    assert error.message.startswith("Invalid timestamp.")


def test_timestamp_is_checked_against_the_real_clock_not_the_business_clock(setup: Setup) -> None:
    setup.clock.advance(10 * 24 * 3600)  # business time is 10 days ahead; the signed timestamp is real time
    setup.token = setup.auth.issue("seller-a")
    setup.admit(query={"timestamp": str(NOW)})


def test_wrong_signature_gets_106001(setup: Setup) -> None:
    error = error_of(lambda: setup.admit(query={"sign": "0" * 64}, resign=False))
    assert error.code == 106001


def test_signature_over_a_different_body_gets_106001(setup: Setup) -> None:
    params = {"app_key": "key", "timestamp": str(NOW), "shop_cipher": "ROW_one"}
    params["sign"] = setup.sign("secret", PATH, params, b'{"a":1}')
    error = error_of(lambda: setup.gate.admit(path=PATH, api=PATH, query=params, signed_body=b'{"a": 1}',
                                              access_token=setup.token.access_token, access=RETURNS))
    assert error.code == 106001


def test_missing_access_token_header_gets_36009004_token_invalid(setup: Setup) -> None:
    error = error_of(lambda: setup.admit(token=None))
    assert error.code == 36009004
    assert "x-tts-access-token" in error.message


def test_unknown_access_token_gets_36009004(setup: Setup) -> None:
    error = error_of(lambda: setup.admit(token="TTP_made_up"))
    assert error.code == 36009004


def test_expired_access_token_gets_105002(setup: Setup) -> None:
    setup.clock.advance(7 * 24 * 3600)
    error = error_of(lambda: setup.admit())
    assert error.code == 105002


def test_revoked_access_token_gets_36009004(setup: Setup) -> None:
    setup.auth.revoke("seller-a")
    assert error_of(lambda: setup.admit()).code == 36009004


def test_missing_shop_cipher_on_a_shop_api_gets_106013(setup: Setup) -> None:
    error = error_of(lambda: setup.admit(cipher=None))
    assert error.code == 106013
    assert error.message.startswith("Missing identifier.")


def test_shop_cipher_on_authorization_api_gets_unexpected_identifier(setup: Setup) -> None:
    error = error_of(lambda: setup.admit(path="/authorization/202309/shops", body=b"", access=SHOPS_API))
    assert error.code == 36009004
    assert error.message.startswith("Unexpected identifier.")


def test_unknown_shop_cipher_gets_36009004_invalid_shop(setup: Setup) -> None:
    error = error_of(lambda: setup.admit(cipher="ROW_nope"))
    assert error.code == 36009004
    assert "shop" in error.message


def test_token_of_another_seller_gets_101000(setup: Setup) -> None:
    error = error_of(lambda: setup.admit(cipher="ROW_two"))
    assert error.code == 101000


def test_creator_token_on_a_return_api_gets_101000(setup: Setup) -> None:
    setup.token = setup.auth.issue("seller-a", user_type=1)
    error = error_of(lambda: setup.admit())
    assert error.code == 101000
    assert "user_type" in error.message


def test_creator_token_is_fine_where_seller_only_is_not_required(setup: Setup) -> None:
    setup.token = setup.auth.issue("seller-a", user_type=1)
    setup.admit(path="/authorization/202309/shops", body=b"", cipher=None, access=SHOPS_API)


def test_missing_scope_gets_105005_with_http_401(setup: Setup) -> None:
    setup.token = setup.auth.issue("seller-a", scopes=[SCOPE_AUTHORIZATION])
    error = error_of(lambda: setup.admit())
    assert (error.code, error.http_status) == (105005, 401)
    assert SCOPE_RETURN_REFUND in error.message


def test_rate_limit_gets_429_with_retry_after(setup: Setup) -> None:
    for _ in range(3):
        setup.admit()
    error = error_of(lambda: setup.admit())
    assert (error.code, error.http_status) == (36009002, 429)
    assert (b"retry-after", b"1") in error.headers


def test_checks_run_in_the_documented_order(setup: Setup) -> None:
    """Everything wrong at once; fixing one fault at a time reveals the next step's error."""
    setup.clock.advance(8 * 24 * 3600)  # token expired
    expired = setup.token.access_token
    broken = {"app_key": "other", "timestamp": str(NOW - 1000), "shop_cipher": "ROW_two"}

    def codes_for(query: dict[str, str], *, signed: bool, token: str | None) -> tuple[int, str]:
        params = dict(query)
        if signed:
            params["sign"] = setup.sign("secret", PATH, params, b"{}")
        error = error_of(lambda: setup.gate.admit(path=PATH, api=PATH, query=params, signed_body=b"{}",
                                                  access_token=token, access=RETURNS))
        return error.code, error.message.split(".")[0]

    assert codes_for(broken, signed=False, token=None) == (36009004, "Invalid credentials")
    broken["app_key"] = "key"
    assert codes_for(broken, signed=False, token=None) == (36009004, "Missing credentials")
    assert codes_for({**broken, "sign": "0" * 64}, signed=False, token=None) == (36009004, "Invalid timestamp")
    broken["timestamp"] = str(NOW)
    assert codes_for({**broken, "sign": "0" * 64}, signed=False, token=None)[0] == 106001
    assert codes_for(broken, signed=True, token=None) == (36009004, "Invalid credentials")
    assert codes_for(broken, signed=True, token=expired)[0] == 105002
    fresh = setup.auth.issue("seller-a", scopes=[SCOPE_AUTHORIZATION], user_type=1).access_token
    assert codes_for({**broken, "shop_cipher": ""}, signed=True, token=fresh)[0] == 106013
    assert codes_for(broken, signed=True, token=fresh)[0] == 101000  # other seller's shop
    broken["shop_cipher"] = "ROW_one"
    assert codes_for(broken, signed=True, token=fresh)[0] == 101000  # creator token
    fresh = setup.auth.issue("seller-a", scopes=[SCOPE_AUTHORIZATION]).access_token
    assert codes_for(broken, signed=True, token=fresh)[0] == 105005
