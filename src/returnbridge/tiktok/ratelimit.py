"""Client-side token buckets so we stay under TikTok's 50 requests/s per API per shop (contract §6)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable


class TokenBucket:
    """A thread-safe token bucket; ``acquire`` blocks until the caller may send.

    Each caller reserves its token under the lock (the balance may go negative) and then sleeps off its own
    debt outside it, so waiters are served in arrival order and exactly ``rate`` per second once the burst is
    spent, and a sleeping thread never holds the lock.
    """

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping as long as needed; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            # max(): a wall clock stepping backwards must not take tokens away.
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
            self._updated = max(now, self._updated)
            self._tokens -= 1
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


class RateLimiter:
    """One bucket per key, e.g. (shop_cipher, API path template), created on first use."""

    def __init__(
        self,
        rate: float = 50.0,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate = rate
        self._burst = rate if burst is None else burst
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[Hashable, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, key: Hashable) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = TokenBucket(self._rate, max(1.0, self._burst), clock=self._clock, sleep=self._sleep)
                self._buckets[key] = bucket
            return bucket

    def acquire(self, key: Hashable) -> float:
        """Block until a request under ``key`` may be sent; returns the seconds waited."""
        return self.bucket(key).acquire()
