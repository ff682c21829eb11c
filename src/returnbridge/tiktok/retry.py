"""Retry policy: exponential backoff with full jitter, honouring ``Retry-After`` (contract §6)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TypeVar

from .errors import RateLimited, TikTokError

log = logging.getLogger(__name__)

R = TypeVar("R")

# A server asking for more than this is treated as asking for this: a sync worker should not hang for hours.
MAX_RETRY_AFTER = 300.0


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: either delta-seconds or an HTTP date; None when unusable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


class RetryPolicy:
    """Decides whether and how long to wait before the next attempt of one request.

    Only errors with ``retryable`` set are retried (429/36009002, 503 and other 5xx without an envelope,
    36009003, 36009007, 25001028 and the other transient codes, connection failures). Whether a *write* may be
    retried at all is the caller's decision (only with an idempotency key), passed as ``allowed``.
    """

    def __init__(
        self,
        *,
        max_attempts: int = 5,
        base: float = 0.5,
        cap: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.base = base
        self.cap = cap
        self._sleep = sleep
        self._rng = rng

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))] after failed attempt ``attempt``."""
        return self._rng() * min(self.cap, self.base * 2 ** (attempt - 1))

    def delay(self, attempt: int, error: TikTokError) -> float:
        retry_after = error.retry_after if isinstance(error, RateLimited) else None
        return retry_after if retry_after is not None else self.backoff(attempt)

    def run(self, attempt_once: Callable[[], R], *, allowed: bool = True, what: str = "request") -> R:
        """Call ``attempt_once`` until it returns, retrying retryable TikTok errors when ``allowed``."""
        attempt = 1
        while True:
            try:
                return attempt_once()
            except TikTokError as error:
                if not (allowed and error.retryable and attempt < self.max_attempts):
                    raise
                wait = self.delay(attempt, error)
                log.warning(
                    "%s failed (attempt %d/%d, code %s, HTTP %s); retrying in %.2fs",
                    what,
                    attempt,
                    self.max_attempts,
                    error.code,
                    error.http_status,
                    wait,
                )
                self._sleep(wait)
                attempt += 1
