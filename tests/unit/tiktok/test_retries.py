"""Backoff with full jitter, Retry-After, and the rule that writes repeat only with an idempotency key."""

from __future__ import annotations

import httpx
import pytest

from conftest import FakeClock, FakeTikTok, query_of, reply
from returnbridge.tiktok import BusinessError, RateLimited, RetryPolicy, ShopClient, TransientError
from returnbridge.tiktok.errors import error_for
from returnbridge.tiktok.retry import parse_retry_after

REASONS = {"reasons": []}


def test_rate_limit_is_retried_after_the_retry_after_delay(
    shop: ShopClient, fake: FakeTikTok, clock: FakeClock
) -> None:
    fake.then(
        reply(code=36009002, status=429, headers={"Retry-After": "2"}),
        reply(code=36009002, status=429, headers={"Retry-After": "1.5"}),
        reply(REASONS),
    )
    shop.get_reject_reasons("r1")
    assert len(fake.requests) == 3
    assert clock.sleeps[-2:] == [2.0, 1.5]


def test_rate_limit_without_retry_after_backs_off_with_jitter(
    shop: ShopClient, fake: FakeTikTok, clock: FakeClock
) -> None:
    fake.then(reply(code=36009002, status=429), reply(code=36009002, status=429), reply(REASONS))
    shop.get_reject_reasons("r1")
    first, second = clock.sleeps[-2:]
    assert 0 <= first <= 0.5
    assert 0 <= second <= 1.0


def test_http_503_without_envelope_is_retried(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(httpx.Response(503, content=b"Service Unavailable"), reply(REASONS))
    shop.get_reject_reasons("r1")
    assert len(fake.requests) == 2


def test_internal_error_code_is_retried(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply(code=36009003), reply(code=25001028), reply(REASONS))
    shop.get_reject_reasons("r1")
    assert len(fake.requests) == 3


def test_each_attempt_is_signed_with_a_fresh_timestamp(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply(code=36009002, status=429, headers={"Retry-After": "3"}), reply(REASONS))
    shop.get_reject_reasons("r1")
    first, second = (int(query_of(r)["timestamp"]) for r in fake.requests)
    assert second - first == 3


def test_reads_give_up_after_max_attempts(shop: ShopClient, fake: FakeTikTok, clock: FakeClock) -> None:
    fake.then(*[reply(code=36009003)] * 5)
    with pytest.raises(TransientError):
        shop.get_reject_reasons("r1")
    assert len(fake.requests) == 5
    assert len(clock.sleeps) == 4


def test_business_errors_are_not_retried(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply(code=25020004))
    with pytest.raises(BusinessError):
        shop.get_reject_reasons("r1")
    assert len(fake.requests) == 1


def test_write_without_idempotency_key_is_not_retried(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply(code=36009003))
    with pytest.raises(TransientError):
        shop.approve_return("r1", decision="APPROVE_REFUND")
    assert len(fake.requests) == 1


def test_write_without_idempotency_key_is_not_retried_after_a_connection_error(
    shop: ShopClient, fake: FakeTikTok
) -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    fake.then(drop)
    with pytest.raises(TransientError):
        shop.reject_cancellation("c1", reject_reason="seller_reject_apply_product_has_been_packed")
    assert len(fake.requests) == 1


def test_write_with_idempotency_key_is_retried_with_the_same_key(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply(code=36009002, status=429), httpx.Response(503), reply({}))
    shop.approve_return("r1", decision="APPROVE_REFUND", idempotency_key="decision-42")
    assert len(fake.requests) == 3
    assert {query_of(r)["idempotency_key"] for r in fake.requests} == {"decision-42"}
    assert {r.content for r in fake.requests} == {b'{"decision":"APPROVE_REFUND"}'}


def test_seller_cancel_order_is_never_retried(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply(code=36009003))
    with pytest.raises(TransientError):
        shop.cancel_order(order_id="o1", cancel_reason="seller_cancel_reason_out_of_stock")
    assert len(fake.requests) == 1


def test_full_jitter_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(rng=lambda: 1.0, sleep=lambda _: None)
    assert [policy.backoff(attempt) for attempt in range(1, 10)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


def test_full_jitter_backoff_can_be_zero() -> None:
    policy = RetryPolicy(rng=lambda: 0.0, sleep=lambda _: None)
    assert policy.backoff(3) == 0.0


def test_policy_sleeps_retry_after_instead_of_backoff() -> None:
    sleeps: list[float] = []
    outcomes = [error_for(36009002, "slow down", http_status=429, retry_after=4.0)]

    def attempt() -> str:
        if outcomes:
            raise outcomes.pop()
        return "ok"

    assert RetryPolicy(sleep=sleeps.append, rng=lambda: 1.0).run(attempt) == "ok"
    assert sleeps == [4.0]


def test_policy_respects_max_attempts() -> None:
    calls: list[int] = []

    def attempt() -> None:
        calls.append(1)
        raise RateLimited(36009002, "slow down")

    with pytest.raises(RateLimited):
        RetryPolicy(max_attempts=3, sleep=lambda _: None).run(attempt)
    assert len(calls) == 3


@pytest.mark.parametrize(
    ("header", "expected"),
    [("5", 5.0), ("0.25", 0.25), ("-3", 0.0), ("", None), ("soon", None), ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0)],
)
def test_retry_after_header_forms(header: str, expected: float | None) -> None:
    assert parse_retry_after(header, now=1445412480.0) == expected
