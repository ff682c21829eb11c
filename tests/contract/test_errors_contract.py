"""Documented errors reach the caller as typed exceptions; retryable ones are retried as the contract says."""

from __future__ import annotations

import pytest

from returnbridge.tiktok import (
    InvalidSignature,
    MemoryTokenSource,
    RateLimited,
    ReturnFilters,
    ScopeNotGranted,
    TikTokClient,
    TransientError,
)
from returnbridge.tiktok.models import TokenSet
from returnbridge.tiktok.shop import ShopClient

from .conftest import Control, authorize, make_client


def test_wrong_app_secret_gets_invalid_signature(emulator, control: Control, client: TikTokClient, us_shop) -> None:
    tokens = authorize(control, client, us_shop["id"])
    with make_client(emulator, app_secret="wrong-secret") as forged:
        shop = forged.shop(us_shop["cipher"], MemoryTokenSource(forged, tokens))
        with pytest.raises(InvalidSignature) as raised:
            shop.search_returns()
    assert raised.value.code == 106001


def test_token_without_the_return_scope_gets_105005(control: Control, client: TikTokClient, us_shop) -> None:
    data = control("POST", "/auth/token", {"shop_id": us_shop["id"], "scopes": ["seller.order.info"]})
    tokens = TokenSet.model_validate(data)
    shop = client.shop(us_shop["cipher"], MemoryTokenSource(client, tokens))
    with pytest.raises(ScopeNotGranted) as raised:
        shop.search_returns()
    assert raised.value.code == 105005


def test_internal_errors_are_retried_until_they_pass(shop: ShopClient, control: Control) -> None:
    control("POST", "/faults", {"path_prefix": "/return_refund/202309/returns/search", "code": 36009003, "count": 2})
    page = shop.search_returns(page_size=10)
    assert page.total_count > 0


def test_http_503_is_retried(shop: ShopClient, control: Control) -> None:
    control(
        "POST",
        "/faults",
        {"path_prefix": "/return_refund/202309/returns/search", "http_status": 503, "code": 36009003, "count": 1},
    )
    assert shop.search_returns(page_size=10).total_count > 0


def test_rate_limit_is_honoured_with_retry_after(shop: ShopClient, control: Control) -> None:
    control(
        "POST",
        "/faults",
        {
            "path_prefix": "/return_refund/202309/returns/search",
            "http_status": 429,
            "code": 36009002,
            "retry_after": 1,
            "count": 1,
        },
    )
    assert shop.search_returns(page_size=10).total_count > 0


def test_persistent_failures_surface_after_the_last_attempt(emulator, control: Control, us_shop) -> None:
    with make_client(emulator, sleep=lambda _s: None, max_attempts=3) as client:
        tokens = authorize(control, client, us_shop["id"])
        shop = client.shop(us_shop["cipher"], MemoryTokenSource(client, tokens))
        control(
            "POST", "/faults", {"path_prefix": "/return_refund/202309/returns/search", "code": 36009003, "count": 3}
        )
        with pytest.raises(TransientError) as raised:
            shop.search_returns()
    assert raised.value.code == 36009003
    assert raised.value.request_id


def test_rate_limit_without_retries_left_is_a_rate_limited_error(emulator, control: Control, us_shop) -> None:
    with make_client(emulator, sleep=lambda _s: None, max_attempts=1) as client:
        tokens = authorize(control, client, us_shop["id"])
        shop = client.shop(us_shop["cipher"], MemoryTokenSource(client, tokens))
        control(
            "POST",
            "/faults",
            {
                "path_prefix": "/return_refund/202309/returns/search",
                "http_status": 429,
                "code": 36009002,
                "retry_after": 1,
                "count": 1,
            },
        )
        with pytest.raises(RateLimited) as raised:
            shop.search_returns()
    assert raised.value.http_status == 429
    assert raised.value.retry_after == 1


def test_writes_without_an_idempotency_key_are_not_retried(shop: ShopClient, control: Control, us_shop) -> None:
    rid = control.new_return(us_shop["id"], "REFUND")["return_id"]
    control(
        "POST", "/faults", {"path_prefix": f"/return_refund/202309/returns/{rid}/approve", "code": 36009003, "count": 1}
    )
    with pytest.raises(TransientError):
        shop.approve_return(rid, decision="APPROVE_REFUND")
    page = shop.search_returns(ReturnFilters(return_ids=[rid]), page_size=10)
    assert page.return_orders[0].return_status == "RETURN_OR_REFUND_REQUEST_PENDING"


def test_writes_with_an_idempotency_key_are_retried_and_applied_once(
    shop: ShopClient, control: Control, us_shop
) -> None:
    rid = control.new_return(us_shop["id"], "REFUND")["return_id"]
    control(
        "POST", "/faults", {"path_prefix": f"/return_refund/202309/returns/{rid}/approve", "code": 36009003, "count": 1}
    )
    shop.approve_return(rid, decision="APPROVE_REFUND", idempotency_key=f"retry-{rid}")
    page = shop.search_returns(ReturnFilters(return_ids=[rid]), page_size=10)
    assert page.return_orders[0].return_status == "RETURN_OR_REFUND_REQUEST_SUCCESS"
