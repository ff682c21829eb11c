"""A small WooCommerce REST API v3 client over httpx.

- Auth (store-apis.md C.1): HTTP Basic with the consumer key and secret, or ``consumer_key``/``consumer_secret``
  in the query string where the server strips ``Authorization``. Both put the secret on the wire in the clear
  unless the site is HTTPS, so the client refuses plain http except for localhost (the emulator, a dev site).
  WooCommerce's plain-http alternative, OAuth 1.0a signatures, is not implemented.
- Retries: 429 and 503 (not executed) are retried with ``Retry-After``. Timeouts and other 5xx may hide an applied
  write: reads are retried, writes raise ``TransientStoreError`` and the mirror searches the order for our key
  before trying again (WooCommerce has no idempotency keys).
- WP REST errors ``{"code","message","data":{"status"}}`` become ``PermanentStoreError`` with the code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from returnbridge.stores.adapter import PermanentStoreError, TransientStoreError

AuthStyle = Literal["basic", "query"]
RETRY_STATUSES = frozenset({429, 503})
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class NotFound(PermanentStoreError):
    pass


def check_transport_security(base_url: str) -> None:
    """Refuse to send consumer secrets over plain http to anything but this machine."""
    parts = urlsplit(base_url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and (parts.hostname or "") in LOCAL_HOSTS:
        return
    raise PermanentStoreError(f"{base_url}: WooCommerce consumer keys are only sent over HTTPS (plain http would "
                              "expose the secret; OAuth 1.0a signing is not supported)")


class WooCommerceClient:
    def __init__(self, base_url: str, consumer_key: str, consumer_secret: str, *, auth: AuthStyle = "basic",
                 timeout: float = 20.0, max_retries: int = 4, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        check_transport_security(base_url)
        self.api = f"{base_url.rstrip('/')}/wp-json/wc/v3"
        self.auth_style = auth
        self._key, self._secret = consumer_key, consumer_secret
        self.max_retries = max_retries
        self._sleep = sleep
        self._http = httpx.Client(timeout=timeout, transport=transport,
                                  auth=(consumer_key, consumer_secret) if auth == "basic" else None,
                                  headers={"Accept": "application/json"})
        self.requests = 0

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        return self._send("GET", path, params=params, write=False)

    def get_or_none(self, path: str) -> Any:
        """The resource, or None when WooCommerce answers 404 (deleted order, stale id)."""
        try:
            return self._send("GET", path, write=False).json()
        except NotFound:
            return None

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._send("POST", path, json=body, write=True).json()

    def _send(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
              write: bool) -> httpx.Response:
        query = dict(params or {})
        if self.auth_style == "query":
            query.update(consumer_key=self._key, consumer_secret=self._secret)
        what = f"WooCommerce {method} {path}"
        problem = ""
        for attempt in range(self.max_retries + 1):
            self.requests += 1
            try:
                response = self._http.request(method, f"{self.api}{path}", params=query, json=json)
            except httpx.TimeoutException as exc:
                problem = "timed out"
                if write:
                    raise TransientStoreError(f"{what} timed out; outcome unknown") from exc
                self._sleep(_backoff(attempt))
                continue
            except httpx.TransportError as exc:
                problem = f"connection failed ({exc.__class__.__name__})"
                if write and not isinstance(exc, httpx.ConnectError):
                    raise TransientStoreError(f"{what}: {problem}; outcome unknown") from exc
                self._sleep(_backoff(attempt))
                continue
            status = response.status_code
            if status in RETRY_STATUSES:
                problem = f"HTTP {status}"
                self._sleep(_retry_after(response, attempt))
                continue
            if status < 400:
                return response
            code, message = _wp_error(response)
            if status in (401, 403):
                raise PermanentStoreError(f"{what}: WooCommerce refused the consumer key ({code}: {message})")
            if status >= 500 and not code.startswith("woocommerce_rest_"):
                # A server failure, not one of WooCommerce's own answers: a write may or may not have happened.
                problem = f"HTTP {status}"
                if write:
                    raise TransientStoreError(f"{what} answered HTTP {status}; outcome unknown")
                self._sleep(_backoff(attempt))
                continue
            error = NotFound if status == 404 else PermanentStoreError
            raise error(f"{what} refused: {message} ({code}, HTTP {status})")
        raise TransientStoreError(f"{what} still failing after {self.max_retries + 1} tries: {problem}")


def _wp_error(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:300]
    if isinstance(body, dict):
        return str(body.get("code") or ""), str(body.get("message") or "")[:500]
    return "", response.text[:300]


def _backoff(attempt: int) -> float:
    return min(0.25 * (2**attempt), 8.0)


def _retry_after(response: httpx.Response, attempt: int) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "")), 0.0), 60.0)
    except ValueError:
        return max(1.0, _backoff(attempt))
