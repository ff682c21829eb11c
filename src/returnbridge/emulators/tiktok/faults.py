"""Injected failures: a background fault rate, fixed latency, and scripted faults for the next N requests.

Chaos tests need the platform's documented transient failures on demand: 36009003 (internal error, HTTP 200),
36009007 with HTTP 503 (timeout/overload), 429 with ``Retry-After``, slow answers and dropped connections.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass

INTERNAL_ERROR = 36009003
TIMEOUT = 36009007

MESSAGES = {
    INTERNAL_ERROR: "Internal error. Please retry later.",
    TIMEOUT: "Request timeout. Please retry later.",
    36009002: "Too many requests. The rate limit was exceeded.",
}


@dataclass(frozen=True)
class Fault:
    """What to do to one request. ``code=None`` means answer normally (after ``delay_ms``, unless ``drop``)."""

    code: int | None = INTERNAL_ERROR
    http_status: int = 200
    message: str | None = None
    delay_ms: int = 0
    retry_after: int | None = None
    drop: bool = False

    @property
    def text(self) -> str:
        if self.message is not None:
            return self.message
        return MESSAGES.get(self.code or 0, "Injected failure.")


@dataclass
class ScriptedFault:
    path_prefix: str
    remaining: int
    fault: Fault

    def describe(self) -> dict:
        return {"path_prefix": self.path_prefix, "remaining": self.remaining, **asdict(self.fault)}


class FaultInjector:
    def __init__(self, *, fault_rate: float = 0.0, latency_ms: int = 0, seed: int | None = None) -> None:
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        self.fault_rate = fault_rate
        self.latency_ms = latency_ms
        self._rng = random.Random(seed)
        self._scripted: list[ScriptedFault] = []
        self._lock = threading.Lock()

    def inject(self, path_prefix: str, count: int, fault: Fault) -> ScriptedFault:
        if count < 1:
            raise ValueError("count must be at least 1")
        scripted = ScriptedFault(path_prefix, count, fault)
        with self._lock:
            self._scripted.append(scripted)
        return scripted

    def clear(self, path_prefix: str | None = None) -> int:
        with self._lock:
            before = len(self._scripted)
            if path_prefix is None:
                self._scripted.clear()
            else:
                self._scripted = [s for s in self._scripted if s.path_prefix != path_prefix]
            return before - len(self._scripted)

    def scripted(self) -> list[dict]:
        with self._lock:
            return [s.describe() for s in self._scripted]

    def next_fault(self, path: str) -> Fault | None:
        """The fault for this request, if any: scripted ones first (oldest first), then the random rate."""
        if self._scripted:
            with self._lock:
                for scripted in self._scripted:
                    if path.startswith(scripted.path_prefix):
                        scripted.remaining -= 1
                        if scripted.remaining <= 0:
                            self._scripted.remove(scripted)
                        return scripted.fault
        if self.fault_rate > 0.0 and self._rng.random() < self.fault_rate:
            if self._rng.random() < 0.5:
                return Fault(code=INTERNAL_ERROR, http_status=200)
            return Fault(code=TIMEOUT, http_status=503)
        return None
