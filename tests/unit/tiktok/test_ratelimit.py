"""Token buckets: a burst of 50, then 50 requests per second, per (shop, API)."""

from __future__ import annotations

import threading

import pytest

from conftest import FakeClock, FakeTikTok, reply
from returnbridge.tiktok import RateLimiter, ShopClient, TokenBucket


def test_burst_is_served_without_waiting() -> None:
    clock = FakeClock()
    bucket = TokenBucket(50, 50, clock=clock.time, sleep=clock.sleep)
    for _ in range(50):
        bucket.acquire()
    assert clock.sleeps == []


def test_requests_beyond_the_burst_are_spaced_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(50, 50, clock=clock.time, sleep=clock.sleep)
    for _ in range(53):
        bucket.acquire()
    assert clock.sleeps == pytest.approx([0.02, 0.02, 0.02], abs=1e-6)


def test_tokens_refill_with_elapsed_time() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 10, clock=clock.time, sleep=clock.sleep)
    for _ in range(10):
        bucket.acquire()
    clock.now += 0.5
    for _ in range(5):
        bucket.acquire()
    assert clock.sleeps == []
    bucket.acquire()
    assert clock.sleeps == pytest.approx([0.1], abs=1e-6)


def test_each_key_has_its_own_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 2, clock=clock.time, sleep=clock.sleep)
    for key in [("shopA", "/x"), ("shopA", "/x"), ("shopB", "/x"), ("shopA", "/y")]:
        limiter.acquire(key)
    assert clock.sleeps == []
    limiter.acquire(("shopA", "/x"))
    assert clock.sleeps == pytest.approx([0.5], abs=1e-6)


def test_concurrent_waiters_each_get_their_own_slot() -> None:
    lock = threading.Lock()
    waits: list[float] = []
    now = 1000.0
    bucket = TokenBucket(10, 1, clock=lambda: now, sleep=lambda s: None)
    bucket.acquire()

    def take() -> None:
        waited = bucket.acquire()
        with lock:
            waits.append(waited)

    threads = [threading.Thread(target=take) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(round(w, 6) for w in waits) == [0.1, 0.2, 0.3, 0.4, 0.5]


def test_client_spaces_calls_to_one_api_of_one_shop(shop: ShopClient, fake: FakeTikTok, clock: FakeClock) -> None:
    fake.then(*[reply({"reasons": []})] * 52)
    for _ in range(52):
        shop.get_reject_reasons("r1")
    assert clock.sleeps == pytest.approx([0.02, 0.02], abs=1e-6)


def test_calls_on_different_ids_share_the_endpoint_bucket(shop: ShopClient, fake: FakeTikTok, clock: FakeClock) -> None:
    fake.then(*[reply({"records": []})] * 51)
    for index in range(51):
        shop.get_return_records(f"r{index}")
    assert clock.sleeps == pytest.approx([0.02], abs=1e-6)
