"""Envelope codes become typed exceptions, chosen by code and never by HTTP status alone."""

from __future__ import annotations

import httpx
import pytest

from conftest import FakeTikTok, reply
from returnbridge.tiktok import (
    BusinessError,
    InvalidAuthCode,
    InvalidCredentials,
    InvalidRequest,
    InvalidSignature,
    NotFound,
    RateLimited,
    ScopeNotGranted,
    ShopClient,
    TikTokClient,
    TikTokError,
    TokenExpired,
    TransientError,
    UnexpectedResponse,
    error_class_for,
)
from returnbridge.tiktok.errors import error_for


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (106001, 200, InvalidSignature),
        (106001, 401, InvalidSignature),
        (105005, 401, ScopeNotGranted),
        (36009004, 400, InvalidCredentials),
        (101000, 200, InvalidCredentials),
        (106013, 200, InvalidRequest),
        (36009022, 200, InvalidRequest),
        (36009009, 404, NotFound),
        (25007006, 200, NotFound),
        (25001001, 200, BusinessError),
        (11050001, 200, BusinessError),
        (25011012, 200, BusinessError),
        (36009037, 429, RateLimited),
    ],
)
def test_envelope_code_maps_to_its_exception_with_request_id_and_status(
    client: TikTokClient, fake: FakeTikTok, code: int, status: int, expected: type[TikTokError]
) -> None:
    fake.then(reply(code=code, status=status, request_id="20260812140352F100F0A36CB8D305CA56"))
    with pytest.raises(expected) as caught:
        client.get_authorized_shops("TTP_a")
    assert type(caught.value) is expected
    assert caught.value.code == code
    assert caught.value.request_id == "20260812140352F100F0A36CB8D305CA56"
    assert caught.value.http_status == status
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [200, 401])
def test_expired_token_code_is_token_expired_on_any_http_status(
    client: TikTokClient, fake: FakeTikTok, status: int
) -> None:
    fake.then(reply(code=105002, status=status))
    with pytest.raises(TokenExpired) as caught:
        client.get_authorized_shops("TTP_a")
    assert caught.value.http_status == status


def test_business_code_on_http_200_is_an_error_not_a_success(client: TikTokClient, fake: FakeTikTok) -> None:
    fake.then(reply({"shops": []}, code=25020005))
    with pytest.raises(BusinessError):
        client.get_authorized_shops("TTP_a")


def test_transient_codes_map_to_transient_error() -> None:
    for code in (36009003, 36009007, 25001028, 25001058, 25007002):
        error = error_for(code, "x")
        assert isinstance(error, TransientError)
        assert error.retryable


def test_auth_code_error_is_invalid_auth_code() -> None:
    assert error_class_for(36004004) is InvalidAuthCode


@pytest.mark.parametrize("code", [25011012, 25011013, 25020009, 25020010, 25020011])
def test_already_in_that_state_codes_are_flagged(code: int) -> None:
    error = error_for(code, "status moved on")
    assert isinstance(error, BusinessError)
    assert error.already_in_that_state


def test_other_business_codes_are_not_already_in_that_state() -> None:
    error = error_for(25020004, "decision does not match type")
    assert isinstance(error, BusinessError)
    assert not error.already_in_that_state


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (25099999, BusinessError),
        (10002014, BusinessError),
        (105999, InvalidCredentials),
        (36009099, InvalidRequest),
        (106999, InvalidRequest),
        (42, TikTokError),
    ],
)
def test_unknown_codes_fall_back_to_their_family(code: int, expected: type[TikTokError]) -> None:
    assert error_class_for(code) is expected


def test_rate_limited_carries_retry_after_from_the_header(client: TikTokClient, fake: FakeTikTok) -> None:
    fake.then(*[reply(code=36009037, status=429, headers={"Retry-After": "7"})])
    with pytest.raises(RateLimited) as caught:
        client.get_authorized_shops("TTP_a")
    assert caught.value.retry_after == 7.0
    assert not caught.value.retryable  # the hourly test-shop quota does not recover within a backoff


def test_non_json_5xx_is_transient(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(*[httpx.Response(502, content=b"<html>Bad Gateway</html>")] * 5)
    with pytest.raises(TransientError) as caught:
        shop.get_reject_reasons("r1")
    assert caught.value.http_status == 502


def test_non_json_4xx_is_a_plain_non_retryable_error(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(httpx.Response(403, content=b"Forbidden"))
    with pytest.raises(TikTokError) as caught:
        shop.get_reject_reasons("r1")
    assert not isinstance(caught.value, TransientError)
    assert caught.value.http_status == 403
    assert len(fake.requests) == 1


def test_error_envelope_with_unexpected_data_still_maps_by_code(client: TikTokClient, fake: FakeTikTok) -> None:
    fake.then(reply({"shops": "not-a-list"}, code=36009004, status=400))
    with pytest.raises(InvalidCredentials):
        client.get_authorized_shops("TTP_a")


def test_success_with_a_malformed_data_shape_is_an_unexpected_response(client: TikTokClient, fake: FakeTikTok) -> None:
    fake.then(reply({"shops": [{"name": "no id or cipher"}]}))
    with pytest.raises(UnexpectedResponse):
        client.get_authorized_shops("TTP_a")


def test_connection_error_after_all_attempts_is_transient(shop: ShopClient, fake: FakeTikTok) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    fake.then(*[refuse] * 5)
    with pytest.raises(TransientError):
        shop.get_reject_reasons("r1")
    assert len(fake.requests) == 5
