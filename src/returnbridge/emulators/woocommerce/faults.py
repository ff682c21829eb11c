"""Injected failures, scripted for the next N matching requests (by route name, e.g. ``refunds.create``).

- ``http_error``: answer HTTP ``http_status`` (default 503) before anything runs.
- ``timeout``: wait ``delay_ms`` (default 30 s) and answer 504; with ``commit`` the request runs first, so a client
  that gave up earlier does not know the write happened.
- ``commit_then_error``: run the request (writes take effect), then answer ``http_status`` (default 502) instead:
  the lost-response case a retry must survive.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

KINDS = ("http_error", "timeout", "commit_then_error")


@dataclass(frozen=True)
class Fault:
    kind: str
    match: str | None = None  # route name; None: any API request
    http_status: int | None = None
    delay_ms: int = 0
    commit: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")

    @property
    def status(self) -> int:
        if self.http_status is not None:
            return self.http_status
        return {"http_error": 503, "timeout": 504, "commit_then_error": 502}[self.kind]


class FaultInjector:
    def __init__(self) -> None:
        self._scripted: list[list] = []  # [fault, remaining]
        self._lock = threading.Lock()
        self.injected = 0

    def inject(self, fault: Fault, count: int = 1) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._scripted.append([fault, count])

    def clear(self) -> int:
        with self._lock:
            n = len(self._scripted)
            self._scripted.clear()
            return n

    def scripted(self) -> list[dict]:
        with self._lock:
            return [{**asdict(f), "remaining": n} for f, n in self._scripted]

    def next_fault(self, route: str) -> Fault | None:
        with self._lock:
            for entry in self._scripted:
                fault: Fault = entry[0]
                if fault.match is not None and fault.match != route:
                    continue
                entry[1] -= 1
                if entry[1] <= 0:
                    self._scripted.remove(entry)
                self.injected += 1
                return fault
        return None
