"""A small Shopify Admin GraphQL client over httpx.

- The API version is pinned here, once (2026-04: ``@idempotent`` is mandatory on refunds and inventory mutations).
- Cost-based throttling: every answer carries ``extensions.cost.throttleStatus``; the client keeps that bucket's
  state and waits until the next query's cost is available instead of running into THROTTLED.
- Retries: THROTTLED, 429 and 503 were not executed by Shopify, so they are retried (``Retry-After`` honoured).
  Timeouts, connection errors and other 5xx may hide an applied write: they are retried only for operations that
  are idempotent (reads, and mutations carrying ``@idempotent``); otherwise the caller gets a ``TransientStoreError``
  and the mirror searches the store for our key before trying again.
- Top-level errors become ``PermanentStoreError`` with Shopify's message; ``userErrors`` are the adapter's to read.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from returnbridge.stores.adapter import PermanentStoreError, TransientStoreError

log = logging.getLogger(__name__)

API_VERSION = "2026-04"
RETRY_STATUSES = frozenset({429, 503})
AMBIGUOUS_STATUSES = frozenset({500, 502, 504})
DEFAULT_COST = 50.0  # a query's cost before Shopify has told us (one FindOrder is about this)


@dataclass
class Bucket:
    """Shopify's leaky bucket as last reported, restored at ``restore_rate`` points per second since ``at``."""

    maximum: float = 1000.0
    available: float = 1000.0
    restore_rate: float = 50.0
    at: float = 0.0
    known: bool = False

    def now_available(self, now: float) -> float:
        return min(self.maximum, self.available + (now - self.at) * self.restore_rate)


class ShopifyClient:
    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        version: str = API_VERSION,
        timeout: float = 20.0,
        max_retries: int = 5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = f"{base_url.rstrip('/')}/admin/api/{version}/graphql.json"
        self.version = version
        self.max_retries = max_retries
        self._http = httpx.Client(
            timeout=timeout, transport=transport,
            headers={"X-Shopify-Access-Token": access_token, "Content-Type": "application/json"},
        )
        self._sleep = sleep
        self._clock = clock
        self._bucket = Bucket()
        self._costs: dict[str, float] = {}  # requested cost last seen, per operation
        self._lock = threading.Lock()
        self.throttled_responses = 0  # THROTTLED answers received (the bench checks it stays 0)
        self.requests = 0
        self.points_used = 0.0  # actual query cost charged by Shopify, summed (the bench compares it to the bucket)

    def close(self) -> None:
        self._http.close()

    # --- throttling ------------------------------------------------------------------------------------------

    def _wait_for_bucket(self, operation: str) -> None:
        """Take ``operation``'s expected cost from our picture of the bucket, waiting until it is there."""
        with self._lock:
            cost = self._costs.get(operation, DEFAULT_COST)
            now = self._clock()
            bucket = self._bucket
            if not bucket.known:
                return
            available = bucket.now_available(now)
            wait = 0.0 if available >= cost else (cost - available) / bucket.restore_rate
            # Book the cost now so concurrent threads of this client queue behind each other.
            bucket.available = available - cost
            bucket.at = now
        if wait > 0:
            self._sleep(wait)

    def _note_cost(self, operation: str, body: dict[str, Any]) -> dict[str, Any] | None:
        cost = (body.get("extensions") or {}).get("cost") if isinstance(body, dict) else None
        if not isinstance(cost, dict):
            return None
        status = cost.get("throttleStatus") or {}
        with self._lock:
            if cost.get("requestedQueryCost") is not None:
                self._costs[operation] = float(cost["requestedQueryCost"])
            if cost.get("actualQueryCost") is not None:
                self.points_used += float(cost["actualQueryCost"])
            with contextlib.suppress(KeyError, TypeError, ValueError):
                self._bucket = Bucket(
                    maximum=float(status["maximumAvailable"]), available=float(status["currentlyAvailable"]),
                    restore_rate=float(status["restoreRate"]) or 1.0, at=self._clock(), known=True,
                )
        return cost

    # --- calls -----------------------------------------------------------------------------------------------

    def execute(
        self, query: str, variables: dict[str, Any] | None = None, *, operation: str, idempotent: bool
    ) -> dict[str, Any]:
        """Run one document; gives ``data``. ``idempotent`` says whether an unclear outcome may be sent again."""
        payload = {"query": query, "variables": variables or {}, "operationName": operation}
        last_problem = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                log.info("shopify %s: retry %d after %s", operation, attempt, last_problem)
            self._wait_for_bucket(operation)
            self.requests += 1
            try:
                response = self._http.post(self.endpoint, json=payload)
            except httpx.TimeoutException as exc:
                last_problem = f"timed out ({exc.__class__.__name__})"
                if not idempotent:
                    raise TransientStoreError(f"Shopify {operation} {last_problem}; outcome unknown") from exc
                self._sleep(_backoff(attempt))
                continue
            except httpx.TransportError as exc:
                last_problem = f"connection failed ({exc.__class__.__name__}: {exc})"
                if not idempotent and not isinstance(exc, httpx.ConnectError):
                    raise TransientStoreError(f"Shopify {operation} {last_problem}; outcome unknown") from exc
                self._sleep(_backoff(attempt))
                continue
            status = response.status_code
            if status == 401:
                raise PermanentStoreError(f"Shopify refused the access token: {_text(response)}")
            if status in RETRY_STATUSES:
                last_problem = f"HTTP {status}"
                self._sleep(_retry_after(response, attempt))
                continue
            if status in AMBIGUOUS_STATUSES or status >= 500:
                last_problem = f"HTTP {status}"
                if not idempotent:
                    raise TransientStoreError(f"Shopify {operation} answered HTTP {status}; outcome unknown")
                self._sleep(_backoff(attempt))
                continue
            if status != 200:
                raise PermanentStoreError(f"Shopify {operation} answered HTTP {status}: {_text(response)}")
            try:
                body = response.json()
            except ValueError as exc:
                raise TransientStoreError(f"Shopify {operation} answered with unreadable JSON") from exc
            cost = self._note_cost(operation, body)
            errors = body.get("errors") if isinstance(body, dict) else None
            if errors:
                if _throttled(errors):
                    self.throttled_responses += 1
                    last_problem = "THROTTLED"
                    self._sleep(_throttle_wait(cost, attempt))
                    continue
                raise PermanentStoreError(f"Shopify {operation} failed: {_messages(errors)}")
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, dict):
                raise TransientStoreError(f"Shopify {operation} answered without data")
            return data
        tries = self.max_retries + 1
        raise TransientStoreError(f"Shopify {operation} still failing after {tries} tries: {last_problem}")


def _backoff(attempt: int) -> float:
    return min(0.25 * (2**attempt), 8.0)


def _retry_after(response: httpx.Response, attempt: int) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return min(max(float(value), 0.0), 60.0)
    except ValueError:
        return max(1.0, _backoff(attempt))


def _throttled(errors: Any) -> bool:
    return isinstance(errors, list) and any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors
    )


def _throttle_wait(cost: dict[str, Any] | None, attempt: int) -> float:
    # (requested − available) / restoreRate: exactly the time until the bucket holds this query's cost.
    try:
        status = cost["throttleStatus"]  # type: ignore[index]
        need = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])  # type: ignore[index]
        return max(need / float(status["restoreRate"]), 0.05)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return max(1.0, _backoff(attempt))


def _messages(errors: Any) -> str:
    if isinstance(errors, str):  # the 401 body shape: a string, not a list
        return errors
    parts = []
    for error in errors if isinstance(errors, list) else [errors]:
        if isinstance(error, dict):
            code = (error.get("extensions") or {}).get("code")
            parts.append(f"{error.get('message', '')}" + (f" ({code})" if code else ""))
        else:
            parts.append(str(error))
    return "; ".join(parts)[:1000]


def _text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and "errors" in body:
        return _messages(body["errors"])
    return response.text[:300]
