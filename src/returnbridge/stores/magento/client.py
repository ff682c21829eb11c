"""A small Magento 2 REST client over httpx (store-apis.md B.1, B.5).

- Auth: an admin token from ``POST /V1/integration/admin/token`` (username/password), renewed before its lifetime
  (4 h by default) runs out and once more if Magento answers 401 anyway (revoked, or a shorter lifetime than
  configured); or an integration access token sent as a Bearer token (the store must allow that, B.1).
- Retries with backoff: reads on 5xx, timeouts and connection errors. A write with an unclear outcome (timeout, 5xx
  after the request was sent) is never sent again here: Magento has no idempotency, so the caller gets a
  ``TransientStoreError`` and the mirror searches the store for our key before trying again.
- Errors: Magento's body ``{"message": "...%1...", "parameters": [...]}`` is rendered and typed: 400 (validation)
  and 401/403 are permanent, 404 is ``MagentoNotFound``.
- Amounts come in as ``Decimal`` and go out as JSON numbers written from ``Decimal``, never through a float.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Literal

import httpx

from returnbridge.stores.adapter import PermanentStoreError, TransientStoreError

log = logging.getLogger(__name__)

ADMIN_TOKEN_LIFETIME = 4 * 3600
RENEW_MARGIN = 300  # renew this many seconds before the token would expire


class MagentoNotFound(PermanentStoreError):
    pass


@dataclass(frozen=True)
class MagentoCredentials:
    """What is encrypted at rest for a Magento store."""

    kind: Literal["admin", "integration"]
    username: str = ""
    password: str = ""
    token: str = ""
    token_lifetime: int = ADMIN_TOKEN_LIFETIME

    def __post_init__(self) -> None:
        if self.kind == "admin" and not (self.username and self.password):
            raise ValueError("admin credentials need a username and a password")
        if self.kind == "integration" and not self.token:
            raise ValueError("integration credentials need the access token")
        if self.token_lifetime <= RENEW_MARGIN:
            raise ValueError(f"the admin token lifetime must be more than {RENEW_MARGIN} seconds")

    def to_secret(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_secret(cls, text: str) -> MagentoCredentials:
        return cls(**json.loads(text))


Filter = tuple[str, str, str]  # (field, value, condition_type)


def search_params(groups: Sequence[Sequence[Filter]], *, page_size: int | None = None, current_page: int = 1,
                  sort: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """``searchCriteria`` query parameters: filters in a group are ORed, groups ANDed (B.3)."""
    params: list[tuple[str, str]] = []
    for g, group in enumerate(groups):
        for f, (name, value, condition) in enumerate(group):
            prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            params += [(f"{prefix}[field]", name), (f"{prefix}[value]", value), (f"{prefix}[condition_type]",
                                                                                 condition)]
    for n, (name, direction) in enumerate(sort):
        params += [(f"searchCriteria[sortOrders][{n}][field]", name),
                   (f"searchCriteria[sortOrders][{n}][direction]", direction)]
    if page_size is not None:
        params += [("searchCriteria[pageSize]", str(page_size)), ("searchCriteria[currentPage]", str(current_page))]
    return params


_MARK = re.compile(r'"\\u0000dec:([-0-9.]+)"')


def dumps(body: Any) -> bytes:
    """JSON with ``Decimal`` written as a number, digit for digit."""
    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return "\u0000dec:" + format(value, "f")
        raise TypeError(type(value).__name__)
    return _MARK.sub(r"\1", json.dumps(body, default=default)).encode()


def render(body: Any) -> str:
    """Magento's error message with its ``%1``/``%name`` placeholders filled from ``parameters``."""
    if not isinstance(body, dict):
        return str(body)[:500]
    message = str(body.get("message") or "")
    params = body.get("parameters")
    if isinstance(params, list):
        for n, value in enumerate(params, start=1):
            message = message.replace(f"%{n}", str(value))
    elif isinstance(params, dict):
        for name, value in params.items():
            message = message.replace(f"%{name}", str(value))
    return message


class MagentoClient:
    def __init__(self, rest_url: str, credentials: MagentoCredentials, *, timeout: float = 20.0,
                 max_retries: int = 4, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.credentials = credentials
        self.max_retries = max_retries
        self._http = httpx.Client(timeout=timeout, transport=transport,
                                  headers={"Content-Type": "application/json", "Accept": "application/json"})
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._token = credentials.token if credentials.kind == "integration" else ""
        self._token_at = 0.0
        self.tokens_issued = 0
        self.requests = 0

    def close(self) -> None:
        self._http.close()

    # --- auth --------------------------------------------------------------------------------------------------

    def _bearer(self, *, renew: bool = False) -> str:
        if self.credentials.kind == "integration":
            return self.credentials.token
        with self._lock:
            expired = self._clock() >= self._token_at + self.credentials.token_lifetime - RENEW_MARGIN
            if renew or not self._token or expired:
                self._token = self._issue_admin_token()
                self._token_at = self._clock()
            return self._token

    def _issue_admin_token(self) -> str:
        body = {"username": self.credentials.username, "password": self.credentials.password}
        token = self._send("POST", "/V1/integration/admin/token", body=body, params=None, idempotent=True,
                           token=None)
        if not isinstance(token, str) or not token:
            raise PermanentStoreError("Magento answered the admin token request without a token")
        self.tokens_issued += 1
        return token

    # --- calls -------------------------------------------------------------------------------------------------

    def get(self, path: str, params: list[tuple[str, str]] | None = None) -> Any:
        return self.call("GET", path, params=params, idempotent=True)

    def post(self, path: str, body: Any, *, idempotent: bool = False) -> Any:
        return self.call("POST", path, body=body, idempotent=idempotent)

    def call(self, method: str, path: str, *, body: Any = None, params: list[tuple[str, str]] | None = None,
             idempotent: bool) -> Any:
        try:
            return self._send(method, path, body=body, params=params, idempotent=idempotent, token=self._bearer())
        except _Unauthorized as refused:
            if self.credentials.kind != "admin":
                raise PermanentStoreError(f"Magento refused the integration token: {refused}") from None
        # The admin token was revoked or lived shorter than configured: one fresh token, one more try.
        try:
            return self._send(method, path, body=body, params=params, idempotent=idempotent,
                              token=self._bearer(renew=True))
        except _Unauthorized as refused:
            raise PermanentStoreError(f"Magento refused a fresh admin token: {refused}") from None

    def _send(self, method: str, path: str, *, body: Any, params: list[tuple[str, str]] | None, idempotent: bool,
              token: str | None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        content = dumps(body) if body is not None else None
        what = f"{method} {path}"
        problem = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                log.info("magento %s: retry %d after %s", what, attempt, problem)
                self._sleep(_backoff(attempt - 1))
            self.requests += 1
            try:
                response = self._http.request(method, f"{self.rest_url}{path}", params=params, content=content,
                                              headers=headers)
            except httpx.ConnectError as exc:  # nothing was sent: safe to send again
                problem = f"connection failed ({exc})"
                continue
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                problem = f"no answer ({exc.__class__.__name__})"
                if not idempotent:
                    raise TransientStoreError(f"Magento {what}: {problem}; outcome unknown") from exc
                continue
            status = response.status_code
            if status >= 500:
                problem = f"HTTP {status}: {render(_body(response))}"
                if not idempotent:
                    raise TransientStoreError(f"Magento {what} answered {problem}; outcome unknown")
                continue
            parsed = _body(response)
            if status == 200:
                return parsed
            message = render(parsed)
            if status == 401 and token is not None:
                raise _Unauthorized(message)
            if status == 404:
                raise MagentoNotFound(f"Magento {what}: {message}")
            if status == 429:
                problem = "HTTP 429"
                continue
            raise PermanentStoreError(f"Magento {what} refused (HTTP {status}): {message}")
        raise TransientStoreError(f"Magento {what} still failing after {self.max_retries + 1} tries: {problem}")


class _Unauthorized(Exception):
    pass


def _body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content, parse_float=Decimal) if response.content else None
    except ValueError:
        return response.text[:300]


def _backoff(attempt: int) -> float:
    return min(0.25 * (2**attempt), 8.0)
