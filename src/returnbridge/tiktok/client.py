"""The TikTok Shop client: app-level calls (OAuth, authorized shops) and a factory for shop-scoped clients."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Self
from urllib.parse import urlencode

import httpx

from .auth import TokenSource
from .envelope import Envelope, ShopsData
from .errors import ConnectionFailed
from .models import AuthorizedShop, TokenSet
from .ratelimit import RateLimiter
from .retry import RetryPolicy
from .shop import ShopClient
from .transport import ApiCall, Transport, UnexpectedResponse, decode_envelope

_TOKEN_GET = "/api/v2/token/get"
_TOKEN_REFRESH = "/api/v2/token/refresh"
_AUTHORIZED_SHOPS = "/authorization/202309/shops"


class TikTokClient:
    """One app's connection to TikTok Shop, shared by all shops: one keep-alive HTTP client, one rate limiter
    (buckets per shop and API), one retry policy. ``clock`` and ``sleep`` are injectable for tests."""

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        api_base: str = "https://open-api.tiktokglobalshop.com",
        auth_base: str = "https://auth.tiktok-shops.com",
        authorize_url: str = "https://services.tiktokshop.com/open/authorize",
        service_id: str = "",
        http: httpx.Client | None = None,
        rate_per_second: float = 50.0,
        max_attempts: int = 5,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.app_key = app_key
        self._app_secret = app_secret
        self.auth_base = auth_base.rstrip("/")
        self.authorize_url = authorize_url
        self.service_id = service_id
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._clock = clock
        self._retry = RetryPolicy(max_attempts=max_attempts, sleep=sleep)
        self._transport = Transport(
            app_key=app_key,
            app_secret=app_secret,
            api_base=api_base,
            http=self._http,
            limiter=RateLimiter(rate_per_second, rate_per_second, clock=clock, sleep=sleep),
            retry=self._retry,
            clock=clock,
        )

    # --- OAuth (contract §2) --------------------------------------------------------------------------------

    def authorization_url(self, state: str) -> str:
        """The seller consent page for this app's ``service_id`` with a CSRF ``state``."""
        if not self.service_id:
            raise ValueError("service_id is not configured (it is the app's service ID, not the app_key)")
        return f"{self.authorize_url}?{urlencode({'service_id': self.service_id, 'state': state})}"

    def get_access_token(self, auth_code: str) -> TokenSet:
        """Exchange a consent ``auth_code`` for tokens. Not retried: the code is single-use."""
        params = {"auth_code": auth_code, "grant_type": "authorized_code"}
        return self._token_call(_TOKEN_GET, params, may_retry=False)

    def refresh_access_token(self, refresh_token: str) -> TokenSet:
        """New tokens from a refresh token; store the returned refresh token, it may have rotated."""
        params = {"refresh_token": refresh_token, "grant_type": "refresh_token"}
        return self._token_call(_TOKEN_REFRESH, params, may_retry=True)

    def _token_call(self, path: str, params: dict[str, str], *, may_retry: bool) -> TokenSet:
        # Plain GETs on the auth host with app_key/app_secret in the query; not signed (contract §2.2).
        query = {"app_key": self.app_key, "app_secret": self._app_secret, **params}

        def attempt() -> Envelope[TokenSet]:
            try:
                response = self._http.get(self.auth_base + path, params=query)
            except httpx.TransportError as exc:
                raise ConnectionFailed(f"GET {path}: {type(exc).__name__}: {exc}") from exc
            return decode_envelope(response, Envelope[TokenSet], self._clock())

        envelope = self._retry.run(attempt, allowed=may_retry, what=f"GET {path}")
        if envelope.data is None:
            raise UnexpectedResponse(0, f"{path}: success without token data", envelope.request_id, 200)
        return envelope.data

    def get_authorized_shops(self, access_token: str) -> list[AuthorizedShop]:
        """Shops this seller token may act for, with the ``cipher`` every shop-scoped call needs."""
        call = ApiCall(method="GET", path=_AUTHORIZED_SHOPS, api=_AUTHORIZED_SHOPS)
        envelope = self._transport.send(call, Envelope[ShopsData], access_token)
        return envelope.data.shops if envelope.data is not None else []

    # --- shops ----------------------------------------------------------------------------------------------

    def shop(self, shop_cipher: str, tokens: TokenSource) -> ShopClient:
        """A client for one shop; cheap to create, shares this client's HTTP pool and rate limiter."""
        return ShopClient(self._transport, shop_cipher, tokens, clock=self._clock)

    def close(self) -> None:
        """Close the HTTP client if this object created it (a client passed in stays the caller's)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
