"""Shopify's cost-based leaky bucket, one per store (store-apis.md A.7).

The requested cost is charged before execution and the difference to the actual cost is given back afterwards.
Default 2000 points restored at 100/s, the live dev-store figures. Real monotonic time, like the real API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Bucket:
    available: float
    updated: float


class CostLimiter:
    def __init__(self, maximum_available: float = 2000.0, restore_rate: float = 100.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.maximum_available = float(maximum_available)
        self.restore_rate = float(restore_rate)
        self._monotonic = monotonic
        self._buckets: dict[str, Bucket] = {}

    def _bucket(self, store: str) -> Bucket:
        now = self._monotonic()
        bucket = self._buckets.get(store)
        if bucket is None:
            bucket = self._buckets[store] = Bucket(self.maximum_available, now)
        else:
            bucket.available = min(self.maximum_available,
                                   bucket.available + (now - bucket.updated) * self.restore_rate)
            bucket.updated = now
        return bucket

    def try_charge(self, store: str, cost: int) -> bool:
        bucket = self._bucket(store)
        if cost > bucket.available:
            return False
        bucket.available -= cost
        return True

    def refund(self, store: str, points: int) -> None:
        bucket = self._bucket(store)
        bucket.available = min(self.maximum_available, bucket.available + points)

    def set_available(self, store: str, points: float) -> None:
        bucket = self._bucket(store)
        bucket.available = max(0.0, min(self.maximum_available, float(points)))

    def status(self, store: str) -> dict[str, float | int]:
        bucket = self._bucket(store)
        return {"maximumAvailable": self.maximum_available, "currentlyAvailable": int(bucket.available),
                "restoreRate": self.restore_rate}

    def configure(self, *, maximum_available: float | None = None, restore_rate: float | None = None) -> None:
        if maximum_available is not None:
            self.maximum_available = float(maximum_available)
        if restore_rate is not None:
            self.restore_rate = float(restore_rate)
        self._buckets.clear()

    def reset(self) -> None:
        self._buckets.clear()
