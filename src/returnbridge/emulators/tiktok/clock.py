"""The emulator's business clock: real time, sped up by ``time_scale``, plus manual jumps.

Business data (create/update times, deadlines, token expiry, webhook retry schedule) lives on this clock so tests
and the demo can make 48 hours pass in a moment. The signed request ``timestamp`` window is checked against the
real wall clock instead, because clients sign with theirs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Clock:
    def __init__(
        self,
        start: float | None = None,
        time_scale: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._origin_real = monotonic()
        self._origin = time.time() if start is None else float(start)
        self.time_scale = float(time_scale)

    def now_float(self) -> float:
        with self._lock:
            return self._origin + (self._monotonic() - self._origin_real) * self.time_scale

    def now(self) -> int:
        """Current business time in whole Unix seconds (TikTok sends int seconds everywhere)."""
        return int(self.now_float())

    def advance(self, seconds: float) -> int:
        """Jump forward; returns the new time. Going backwards is refused: TikTok's clock never does."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._origin += seconds
        return self.now()

    def set(self, timestamp: float) -> int:
        current = self.now_float()
        if timestamp < current:
            raise ValueError("the clock only moves forward")
        return self.advance(timestamp - current)

    def real_seconds(self, business_seconds: float) -> float:
        """How long ``business_seconds`` of business time take in real time (for sleeps and retry timers)."""
        return business_seconds / self.time_scale
