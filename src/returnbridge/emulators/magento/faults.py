"""Injected failures for REST requests, scripted for the next N matching requests.

Kinds: ``http_error`` (HTTP 5xx, default 503, before anything runs); ``timeout`` (wait ``delay_ms``, default 30 s,
then answer 504; the client has given up by then; ``commit`` runs the request first); ``commit_then_error`` (the
request runs and its writes stay, then HTTP ``http_status``, default 502, instead of the answer: the lost-response
case a retry must survive); ``latency`` (wait, then answer normally). ``match`` is a route name such as
``refund``, ``order_comment``, ``search_orders`` or ``admin_token``; ``site`` limits it to one installation.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

KINDS = ("http_error", "timeout", "commit_then_error", "latency")


@dataclass(frozen=True)
class Fault:
    kind: str
    http_status: int | None = None
    delay_ms: int | None = None
    commit: bool = False
    match: str | None = None
    site: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")

    @property
    def status(self) -> int:
        return self.http_status or {"http_error": 503, "timeout": 504, "commit_then_error": 502}.get(self.kind, 200)

    @property
    def delay(self) -> float:
        default = 30_000 if self.kind == "timeout" else 0
        return (self.delay_ms if self.delay_ms is not None else default) / 1000


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

    def next_fault(self, site: str, route: str) -> Fault | None:
        with self._lock:
            for entry in self._scripted:
                fault = entry[0]
                if (fault.match is not None and fault.match != route) or (fault.site not in (None, site)):
                    continue
                entry[1] -= 1
                if entry[1] <= 0:
                    self._scripted.remove(entry)
                self.injected += 1
                return fault
        return None
