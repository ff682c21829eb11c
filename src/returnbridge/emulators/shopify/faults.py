"""Injected failures for GraphQL requests: scripted for the next N matching requests, or a random rate.

Kinds (what the client sees):
- ``http_error``: an HTTP 5xx (default 503) before anything runs; ``retry_after`` adds a ``Retry-After`` header.
- ``http_429``: HTTP 429 with ``Retry-After`` before anything runs (edge rate limiting, A.7).
- ``throttled``: the GraphQL ``THROTTLED`` answer (HTTP 200) before anything runs.
- ``latency``: wait ``delay_ms``, then answer normally.
- ``timeout``: wait ``delay_ms`` (default 30 s), then drop the connection; nothing runs unless ``commit`` is set.
- ``commit_then_error``: run the operation (mutations take effect), then answer HTTP ``http_status`` (default 502)
  instead of the result: the lost-response case idempotent retries must survive.
- ``drop``: close the connection without an answer; ``commit`` runs the operation first.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass

KINDS = ("http_error", "http_429", "throttled", "latency", "timeout", "commit_then_error", "drop")


@dataclass(frozen=True)
class Fault:
    kind: str
    http_status: int | None = None
    delay_ms: int = 0
    retry_after: float | None = None
    commit: bool = False
    # Only requests whose root fields include this name (e.g. "refundCreate"); None: any GraphQL request.
    match: str | None = None
    # Only requests for this store domain; None: any store.
    store: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")

    @property
    def status(self) -> int:
        if self.http_status is not None:
            return self.http_status
        return {"http_error": 503, "http_429": 429, "commit_then_error": 502}.get(self.kind, 200)


@dataclass
class ScriptedFault:
    fault: Fault
    remaining: int

    def describe(self) -> dict:
        return {**asdict(self.fault), "remaining": self.remaining}


class FaultInjector:
    def __init__(self, *, fault_rate: float = 0.0, latency_ms: int = 0, seed: int | None = None) -> None:
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        self.fault_rate = fault_rate
        self.latency_ms = latency_ms
        self._rng = random.Random(seed)
        self._scripted: list[ScriptedFault] = []
        self._lock = threading.Lock()
        self.injected = 0

    def inject(self, fault: Fault, count: int = 1) -> ScriptedFault:
        if count < 1:
            raise ValueError("count must be at least 1")
        scripted = ScriptedFault(fault, count)
        with self._lock:
            self._scripted.append(scripted)
        return scripted

    def clear(self) -> int:
        with self._lock:
            cleared = len(self._scripted)
            self._scripted.clear()
            return cleared

    def scripted(self) -> list[dict]:
        with self._lock:
            return [s.describe() for s in self._scripted]

    def next_fault(self, store: str, root_fields: list[str]) -> Fault | None:
        """Scripted faults first (oldest first), then the random rate (half 503, half THROTTLED)."""
        with self._lock:
            for scripted in self._scripted:
                fault = scripted.fault
                if fault.match is not None and fault.match not in root_fields:
                    continue
                if fault.store is not None and fault.store != store:
                    continue
                scripted.remaining -= 1
                if scripted.remaining <= 0:
                    self._scripted.remove(scripted)
                self.injected += 1
                return fault
            if self.fault_rate > 0.0 and self._rng.random() < self.fault_rate:
                self.injected += 1
                return Fault("http_error") if self._rng.random() < 0.5 else Fault("throttled")
        return None
