"""The token bucket behind 36009002 (contract §6): per (app, shop, API), ``rps`` per second, one second of burst."""

from __future__ import annotations

from returnbridge.emulators.tiktok.ratelimit import RateLimiter


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_allows_rps_calls_then_refuses() -> None:
    limiter = RateLimiter(5, FakeMonotonic())
    key = ("app", "ROW_1", "/api")
    assert [limiter.allow(key) for _ in range(6)] == [True] * 5 + [False]


def test_tokens_come_back_at_rps_per_second() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(10, clock)
    key = ("app", "ROW_1", "/api")
    for _ in range(10):
        limiter.allow(key)
    assert not limiter.allow(key)
    clock.now += 0.1
    assert limiter.allow(key)
    assert not limiter.allow(key)


def test_shops_and_apis_have_separate_buckets() -> None:
    limiter = RateLimiter(1, FakeMonotonic())
    assert limiter.allow(("app", "ROW_1", "/a"))
    assert limiter.allow(("app", "ROW_2", "/a"))
    assert limiter.allow(("app", "ROW_1", "/b"))
    assert not limiter.allow(("app", "ROW_1", "/a"))


def test_zero_rps_means_unlimited() -> None:
    limiter = RateLimiter(0, FakeMonotonic())
    assert all(limiter.allow(("a", "b", "c")) for _ in range(1000))


def test_idle_bucket_never_holds_more_than_one_second_of_burst() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(3, clock)
    key = ("app", "ROW_1", "/api")
    limiter.allow(key)
    clock.now += 60
    assert [limiter.allow(key) for _ in range(4)] == [True, True, True, False]
