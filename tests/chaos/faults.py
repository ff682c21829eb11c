"""The faults of a chaos run: a timetable drawn from the seed, and the hands that inject each fault.

- TikTok: 5xx bursts (36009007 / HTTP 503, 36009003 / HTTP 200), 429 bursts with Retry-After, slow answers and
  connections dropped without an answer (what a client sees as a timeout), expired access tokens;
- Shopify: HTTP 5xx, HTTP 429, GraphQL THROTTLED, slow answers, timeouts, and "commit then lose the answer" (the
  mutation takes effect, the client sees an error or a dropped connection);
- webhooks dropped, duplicated, delayed and reordered (the TikTok emulator's knobs, on for the whole fault window);
- product processes killed with SIGKILL and started again a moment later;
- the database "restarted" once (PostgreSQL only, see ``restart_database``).
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine, text

from returnbridge.db.engine import normalise_url

from .environment import Environment
from .fleet import Fleet, Member

log = logging.getLogger(__name__)

WEBHOOK_CHAOS = {"drop_probability": 0.05, "duplicate_probability": 0.1, "delay_probability": 0.1,
                 "delay_seconds": 3.0, "reorder_probability": 0.1}
WEBHOOK_CALM = {"drop_probability": 0.0, "duplicate_probability": 0.0, "delay_probability": 0.0,
                "delay_seconds": 0.0, "reorder_probability": 0.0}
# How long the database stays unreachable in its "restart", and a killed process stays dead.
DATABASE_DOWN_SECONDS = 4.0
RESTART_AFTER_SECONDS = (0.5, 3.0)

TIKTOK_FAULTS: dict[str, dict[str, Any]] = {
    "tiktok_503": {"code": 36009007, "http_status": 503},
    "tiktok_internal_error": {"code": 36009003, "http_status": 200},
    "tiktok_429": {"code": 36009002, "http_status": 429, "retry_after": 1},
    "tiktok_slow": {"code": None, "delay_ms": 1500},
    "tiktok_timeout": {"drop": True, "delay_ms": 500},
}
SHOPIFY_FAULTS: dict[str, dict[str, Any]] = {
    "shopify_503": {"kind": "http_error"},
    "shopify_429": {"kind": "http_429", "retry_after": 0.5},
    "shopify_throttled": {"kind": "throttled"},
    "shopify_slow": {"kind": "latency", "delay_ms": 1500},
    "shopify_timeout": {"kind": "timeout", "delay_ms": 1500},
    "shopify_commit_then_error": {"kind": "commit_then_error"},
    "shopify_commit_then_drop": {"kind": "drop", "commit": True},
}
# The mutations whose lost answers matter: each must be done once although the client could not tell.
MUTATIONS = ("returnCreate", "refundCreate", "inventoryAdjustQuantities", "returnCancel", "returnClose")


@dataclass(order=True)
class Event:
    at: float
    kind: str = field(compare=False)
    params: dict[str, Any] = field(default_factory=dict, compare=False)


def timetable(rng: random.Random, seconds: float, *, processes: int, single: bool) -> list[Event]:
    """Fault events over ``seconds`` (as offsets from the start), the same for the same seed."""
    events: list[Event] = []

    def spread(kind: str, count: int, **params: Any) -> None:
        for _ in range(count):
            events.append(Event(rng.uniform(0.05, 0.9) * seconds, kind, dict(params)))

    bursts = max(2, int(seconds / 4))
    for _ in range(bursts):
        name = rng.choice(sorted(TIKTOK_FAULTS))
        events.append(Event(rng.uniform(0.05, 0.9) * seconds, name,
                            {"count": rng.randint(1, 3), "path_prefix": rng.choice(("/return_refund/", "/"))}))
        name = rng.choice(sorted(SHOPIFY_FAULTS))
        params: dict[str, Any] = {"count": rng.randint(1, 3)}
        if name.startswith("shopify_commit"):
            params = {"count": 1, "match": rng.choice(MUTATIONS[:3])}
        events.append(Event(rng.uniform(0.05, 0.9) * seconds, name, params))
    spread("token_expiry", max(2, int(seconds / 30)))
    spread("process_kill", max(3 if single else 4, int(seconds / (12 if single else 8))))
    if not single:
        events.append(Event(rng.uniform(0.4, 0.6) * seconds, "database_restart", {}))
    return sorted(events)


class FaultInjector:
    """Applies the timetable's events as their time comes; counts every fault injected."""

    def __init__(self, env: Environment, fleet: Fleet, rng: random.Random, events: list[Event]) -> None:
        self.env = env
        self.fleet = fleet
        self.rng = rng
        self.pending = list(events)
        self.restarts: list[tuple[float, Member]] = []
        self.injected: Counter[str] = Counter()
        self.database_down = False
        self.last_fault_at = 0.0  # monotonic time the last fault ended

    def start(self) -> None:
        self.env.call_tiktok("PUT", "/webhooks", WEBHOOK_CHAOS)

    @property
    def finished(self) -> bool:
        return not self.pending and not self.restarts

    def due(self, elapsed: float) -> None:
        """Inject what is due at ``elapsed`` seconds into the window; start again processes whose time came."""
        now = time.monotonic()
        for at, member in list(self.restarts):
            if now >= at:
                self.fleet.restart(member)
                self.restarts.remove((at, member))
                self.last_fault_at = time.monotonic()
        while self.pending and self.pending[0].at <= elapsed:
            event = self.pending.pop(0)
            self._inject(event)
            self.last_fault_at = time.monotonic()

    def _inject(self, event: Event) -> None:
        kind, params = event.kind, event.params
        if kind in TIKTOK_FAULTS:
            body = {**TIKTOK_FAULTS[kind], "count": params["count"], "path_prefix": params["path_prefix"]}
            self.env.call_tiktok("POST", "/faults", body)
            self.injected[kind] += params["count"]
        elif kind in SHOPIFY_FAULTS:
            self.env.call_shopify("POST", "/faults", {**SHOPIFY_FAULTS[kind], **params})
            self.injected[kind] += params["count"]
        elif kind == "token_expiry":
            shop = self.rng.choice(self.env.shops)
            self.env.call_tiktok("POST", "/auth/expire", {"seller_id": shop.seller_id})
            self.injected[kind] += 1
        elif kind == "process_kill":
            member = self.rng.choice(self.fleet.killable)
            if any(waiting is member for _, waiting in self.restarts):
                return  # already dead, waiting for its restart
            self.fleet.kill(member)
            self.restarts.append((time.monotonic() + self.rng.uniform(*RESTART_AFTER_SECONDS), member))
        elif kind == "database_restart":
            self.restart_database()
            self.injected[kind] += 1

    def restart_database(self) -> None:
        """The shared PostgreSQL server cannot be restarted from here (other people use it), so a restart is
        simulated as clients see one: new connections to our database are refused (ALLOW_CONNECTIONS false) and
        every open connection to it is terminated (pg_terminate_backend), for DATABASE_DOWN_SECONDS; then it
        accepts connections again. Every process of the run loses its pooled connections mid-work."""
        name = self.env.postgres_name
        admin = create_engine(normalise_url(self.env.options.postgres_url), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
                self.database_down = True
                ended = time.monotonic() + DATABASE_DOWN_SECONDS
                terminated = 0
                while time.monotonic() < ended:
                    terminated += connection.execute(text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ), {"name": name}).scalar_one()
                    time.sleep(0.5)
                connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
                self.injected["database_connections_terminated"] += terminated
        finally:
            self.database_down = False
            admin.dispose()

    def stop(self) -> None:
        """The end of the window: no fault left pending anywhere, every process running again. Scripted faults no
        request reached are taken off the counts: only faults a client actually met are reported."""
        self.env.call_tiktok("PUT", "/webhooks", WEBHOOK_CALM)
        for scripted in self.env.call_tiktok("GET", "/faults")["scripted"]:
            self.injected["not_reached"] += int(scripted["remaining"])
        for scripted in self.env.call_shopify("GET", "/faults")["scripted"]:
            self.injected["not_reached"] += int(scripted["remaining"])
        self.env.call_tiktok("DELETE", "/faults")
        self.env.call_shopify("DELETE", "/faults")
        for _, member in self.restarts:
            self.fleet.restart(member)
        self.restarts.clear()
        self.last_fault_at = time.monotonic()

    def webhook_faults(self) -> dict[str, int]:
        applied = self.env.call_tiktok("GET", "/webhooks").get("chaos_applied", {})
        return {f"webhooks_{name}": int(count) for name, count in applied.items()}
