"""Token-bucket rate limiting per (app_key, shop_cipher, path), the documented 50 requests/s per API (§6)."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    """One bucket per key holding up to ``rps`` tokens (one second of burst), refilled at ``rps`` per second.

    Real (monotonic) time, not the business clock: quotas protect the real server. ``rps <= 0`` disables limits.
    Not thread-safe on purpose: it is only used from the server's event loop.
    """

    def __init__(self, rps: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._buckets: dict[tuple[str, str, str], list[float]] = {}
        self.rps = rps

    @property
    def rps(self) -> float:
        return self._rps

    @rps.setter
    def rps(self, value: float) -> None:
        self._rps = float(value)
        self._buckets.clear()

    def allow(self, key: tuple[str, str, str]) -> bool:
        rps = self._rps
        if rps <= 0:
            return True
        now = self._monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            # [tokens, last refill]; a new bucket starts full.
            self._buckets[key] = [rps - 1.0, now]
            return True
        tokens = min(rps, bucket[0] + (now - bucket[1]) * rps)
        bucket[1] = now
        if tokens >= 1.0 - 1e-9:  # float refill: 10 × 0.1 s must give back a whole token
            bucket[0] = tokens - 1.0
            return True
        bucket[0] = tokens
        return False
