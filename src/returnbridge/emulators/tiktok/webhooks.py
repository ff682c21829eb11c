"""Webhook delivery (contract §5): signed envelopes, per-shop subscriptions, retries, chaos knobs, a delivery log.

Deliveries run on their own thread and event loop, so a slow or dead receiver never delays an API answer. Only an
HTTP 200 within 3 seconds counts as delivered; a failure is retried 2 min, then 30 min, 3 h and 12 h after the
previous failure, on the BUSINESS clock (a large ``time_scale`` or a clock jump makes the schedule pass quickly),
and abandoned after the fourth retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields

import httpx
import orjson

from .clock import Clock
from .signing import webhook_signature

RETRY_DELAYS_SECONDS: tuple[int, ...] = (120, 1800, 3 * 3600, 12 * 3600)
RECEIVER_TIMEOUT_SECONDS = 3.0
# A held ("reordered") delivery goes out after the next delivery finishes, or after this long at the latest.
REORDER_MAX_HOLD_SECONDS = 5.0
_POLL_SECONDS = 0.05

EVENT_TYPE_NAMES: dict[int, str] = {
    1: "ORDER_STATUS_CHANGE",
    2: "REVERSE_STATUS_UPDATE",
    3: "RECIPIENT_ADDRESS_UPDATE",
    4: "PACKAGE_UPDATE",
    5: "PRODUCT_STATUS_CHANGE",
    6: "SELLER_DEAUTHORIZATION",
    7: "UPCOMING_AUTHORIZATION_EXPIRATION",
    11: "CANCELLATION_STATUS_CHANGE",
    12: "RETURN_STATUS_CHANGE",
    13: "NEW_CONVERSATION",
}
EVENT_TYPES_BY_NAME: dict[str, int] = {name: number for number, name in EVENT_TYPE_NAMES.items()}


@dataclass
class ChaosSettings:
    """Probabilities (0–1) applied to each new notification; ``delay_seconds`` is business time."""

    drop_probability: float = 0.0
    duplicate_probability: float = 0.0
    delay_probability: float = 0.0
    delay_seconds: float = 0.0
    reorder_probability: float = 0.0

    def update(self, values: dict) -> None:
        known = {f.name for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown chaos setting {name!r}")
            number = float(value)
            if name.endswith("_probability") and not 0.0 <= number <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
            if number < 0:
                raise ValueError(f"{name} must not be negative")
            setattr(self, name, number)


@dataclass
class Subscription:
    event_type: str
    address: str
    create_time: int
    update_time: int


@dataclass
class Delivery:
    id: int
    notification_id: str
    type: int
    shop_id: str
    url: str
    body: bytes
    signature: str
    state: str = "pending"  # pending → delivered | failed; or dropped / held
    duplicate: bool = False
    attempts: list[dict] = field(default_factory=list)
    next_attempt_at: float | None = None

    def describe(self) -> dict:
        return {
            "id": self.id,
            "notification_id": self.notification_id,
            "type": self.type,
            "shop_id": self.shop_id,
            "url": self.url,
            "state": self.state,
            "duplicate": self.duplicate,
            "attempts": [dict(a) for a in self.attempts],
            "next_attempt_at": None if self.next_attempt_at is None else int(self.next_attempt_at),
            "payload": orjson.loads(self.body),
        }


class WebhookDispatcher:
    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        clock: Clock,
        default_url: str | None = None,
        seed: int | None = None,
        max_log: int = 10_000,
        receiver_timeout: float = RECEIVER_TIMEOUT_SECONDS,
    ) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self.clock = clock
        self.default_url = default_url
        self.chaos = ChaosSettings()
        self.receiver_timeout = receiver_timeout
        self.unaddressed = 0
        # How often each chaos knob fired, so a chaos run can report the webhook faults it actually caused.
        self.chaos_applied = {"dropped": 0, "delayed": 0, "reordered": 0, "duplicated": 0}
        self._rng = random.Random(seed)
        # 19-digit ids, unique per process run: a random base in the 7… range plus a counter.
        self._notification_ids = itertools.count(7_000_000_000_000_000_000 + self._rng.randrange(10**17))
        self._seq = itertools.count(1)
        self._max_log = max_log
        self._log: OrderedDict[int, Delivery] = OrderedDict()
        self._subscriptions: dict[str, dict[str, Subscription]] = {}
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, Delivery]] = []
        self._held: list[tuple[float, Delivery]] = []
        self._in_flight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False

    # --- subscriptions (Event API) -----------------------------------------------------------------------------

    def subscribe(self, shop_id: str, event_type: str, address: str) -> Subscription:
        now = self.clock.now()
        with self._lock:
            shop = self._subscriptions.setdefault(shop_id, {})
            existing = shop.get(event_type)
            if existing is None:
                existing = shop[event_type] = Subscription(event_type, address, now, now)
            else:
                existing.address = address
                existing.update_time = now
            return existing

    def unsubscribe(self, shop_id: str, event_type: str) -> bool:
        with self._lock:
            return self._subscriptions.get(shop_id, {}).pop(event_type, None) is not None

    def subscriptions(self, shop_id: str) -> list[Subscription]:
        with self._lock:
            return sorted(self._subscriptions.get(shop_id, {}).values(), key=lambda s: s.event_type)

    def address_for(self, shop_id: str, event_type: int) -> str | None:
        name = EVENT_TYPE_NAMES.get(event_type)
        with self._lock:
            subscription = self._subscriptions.get(shop_id, {}).get(name) if name else None
        return subscription.address if subscription is not None else self.default_url

    # --- publishing --------------------------------------------------------------------------------------------

    def envelope(self, shop_id: str, event_type: int, data: dict) -> tuple[str, bytes]:
        """A new notification id and the exact body bytes (key order as in the contract's W1 vector)."""
        notification_id = str(next(self._notification_ids))
        body = orjson.dumps(
            {
                "type": event_type,
                "tts_notification_id": notification_id,
                "shop_id": shop_id,
                "timestamp": self.clock.now(),
                "data": data,
            }
        )
        return notification_id, body

    def publish(self, shop_id: str, event_type: int, data: dict) -> Delivery | None:
        """Queue one notification; returns at once (safe from any thread). None when no address is configured."""
        url = self.address_for(shop_id, event_type)
        if url is None:
            with self._lock:
                self.unaddressed += 1
            return None
        notification_id, body = self.envelope(shop_id, event_type, data)
        signature = webhook_signature(self.app_key, self.app_secret, body)
        delivery = self._record(Delivery(next(self._seq), notification_id, event_type, shop_id, url, body, signature))
        chaos = self.chaos
        rng = self._rng
        if chaos.drop_probability and rng.random() < chaos.drop_probability:
            delivery.state = "dropped"
            self._count("dropped")
            return delivery
        due = self.clock.now_float()
        if chaos.delay_probability and rng.random() < chaos.delay_probability:
            due += chaos.delay_seconds
            self._count("delayed")
        if chaos.reorder_probability and rng.random() < chaos.reorder_probability:
            delivery.state = "held"
            self._count("reordered")
            with self._lock:
                self._held.append((time.monotonic() + REORDER_MAX_HOLD_SECONDS, delivery))
        else:
            self._schedule(delivery, due)
        if chaos.duplicate_probability and rng.random() < chaos.duplicate_probability:
            self._count("duplicated")
            twin = self._record(
                Delivery(next(self._seq), notification_id, event_type, shop_id, url, body, signature, duplicate=True)
            )
            self._schedule(twin, due)
        return delivery

    def _count(self, knob: str) -> None:
        with self._lock:
            self.chaos_applied[knob] += 1

    def _record(self, delivery: Delivery) -> Delivery:
        with self._lock:
            self._log[delivery.id] = delivery
            while len(self._log) > self._max_log:
                oldest_id, oldest = next(iter(self._log.items()))
                if oldest.state == "pending" and oldest.next_attempt_at is not None:
                    # Still retrying: keep it, drop the next finished one instead.
                    self._log.move_to_end(oldest_id)
                    finished = next((k for k, d in self._log.items() if d.state != "pending"), None)
                    if finished is None:
                        break
                    del self._log[finished]
                else:
                    del self._log[oldest_id]
        return delivery

    def _schedule(self, delivery: Delivery, due: float) -> None:
        with self._lock:
            delivery.state = "pending"
            delivery.next_attempt_at = due
            heapq.heappush(self._heap, (due, delivery.id, delivery))
        self._poke()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            # The loop may close between the check and the call, i.e. while we are stopping.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    # --- log ---------------------------------------------------------------------------------------------------

    def deliveries(
        self, *, limit: int = 100, shop_id: str | None = None, event_type: int | None = None,
        state: str | None = None,
    ) -> list[dict]:
        """Newest first."""
        with self._lock:
            items = list(self._log.values())
        chosen = []
        for delivery in reversed(items):
            if shop_id is not None and delivery.shop_id != shop_id:
                continue
            if event_type is not None and delivery.type != event_type:
                continue
            if state is not None and delivery.state != state:
                continue
            chosen.append(delivery.describe())
            if len(chosen) >= limit:
                break
        return chosen

    def settings(self) -> dict:
        return {
            "url": self.default_url,
            **asdict(self.chaos),
            "retry_delays_seconds": list(RETRY_DELAYS_SECONDS),
            "receiver_timeout_seconds": self.receiver_timeout,
            "unaddressed": self.unaddressed,
            "chaos_applied": dict(self.chaos_applied),
        }

    def is_idle(self) -> bool:
        """No attempt running and none due now (future retries do not count)."""
        now = self.clock.now_float()
        with self._lock:
            return self._in_flight == 0 and not self._held and (not self._heap or self._heap[0][0] > now)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_idle():
                return True
            time.sleep(0.01)
        return self.is_idle()

    # --- the delivery thread -----------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        ready = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._thread_main, args=(ready,), name="tiktok-webhooks", daemon=True)
        self._thread.start()
        ready.wait(5)

    def stop(self) -> None:
        thread, loop, wake = self._thread, self._loop, self._wake
        if thread is None or loop is None:
            return
        self._stopping = True
        if wake is not None:
            loop.call_soon_threadsafe(wake.set)
        thread.join(10)
        self._thread = None

    def _thread_main(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._run(ready))
        finally:
            self._loop = None
            self._wake = None
            loop.close()

    async def _run(self, ready: threading.Event) -> None:
        self._wake = asyncio.Event()
        tasks: set[asyncio.Task] = set()
        # A modest connection pool: bursts of status changes should not open a hundred sockets on a receiver.
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
        # Waiting for a free pooled connection is our delay, not the receiver's: only the exchange is timed.
        timeout = httpx.Timeout(self.receiver_timeout, pool=None)
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
            ready.set()
            while not self._stopping:
                now = self.clock.now_float()
                for delivery in self._take_due(now):
                    task = asyncio.create_task(self._attempt(client, delivery))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                self._release_expired_holds()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), _POLL_SECONDS)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _take_due(self, now: float) -> list[Delivery]:
        due: list[Delivery] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                due.append(heapq.heappop(self._heap)[2])
            self._in_flight += len(due)
        return due

    def _release_expired_holds(self) -> None:
        if not self._held:
            return
        now = time.monotonic()
        with self._lock:
            expired = [d for deadline, d in self._held if deadline <= now]
            self._held = [(deadline, d) for deadline, d in self._held if deadline > now]
        for delivery in expired:
            self._schedule(delivery, self.clock.now_float())

    def _release_holds(self) -> None:
        with self._lock:
            held = [d for _, d in self._held]
            self._held.clear()
        for delivery in held:
            self._schedule(delivery, self.clock.now_float())

    async def _attempt(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        started = time.monotonic()
        attempt: dict = {"at": self.clock.now(), "status": None, "error": None}
        try:
            response = await client.post(
                delivery.url,
                content=delivery.body,
                headers={"Authorization": delivery.signature, "Content-Type": "application/json"},
            )
            attempt["status"] = response.status_code
            ok = response.status_code == 200
            if not ok:
                attempt["error"] = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok = False
            attempt["error"] = type(exc).__name__
        attempt["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
        with self._lock:
            delivery.attempts.append(attempt)
            self._in_flight -= 1
            retries_done = len(delivery.attempts) - 1
            if ok:
                delivery.state = "delivered"
                delivery.next_attempt_at = None
            elif retries_done >= len(RETRY_DELAYS_SECONDS):
                delivery.state = "failed"
                delivery.next_attempt_at = None
        if not ok and delivery.state == "pending":
            self._schedule(delivery, self.clock.now_float() + RETRY_DELAYS_SECONDS[retries_done])
        # A reordered delivery overtakes nothing: it goes out only after this one has been tried.
        self._release_holds()
