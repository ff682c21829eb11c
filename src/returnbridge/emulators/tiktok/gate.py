"""Gatekeeping of every open-API call, in the documented order (contract §8.2, steps 1–9).

Each step raises an :class:`ApiError` whose message starts with the keyword phrase the docs tell clients to
branch on ("Invalid credentials.", "Missing credentials.", "Invalid timestamp.", "Unexpected identifier." …).
Steps 10 (body validation) and 11 (business rules) belong to the route handlers, which run only after this gate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .auth import USER_TYPE_SELLER, AppCredentials, AuthService, Token
from .clock import Clock
from .errors import ApiError
from .ratelimit import RateLimiter
from .signing import is_valid_request_signature

TIMESTAMP_PAST_SECONDS = 300
TIMESTAMP_FUTURE_SECONDS = 30

INVALID_CREDENTIALS = 36009004
INVALID_SIGN = 106001
TOKEN_EXPIRED = 105002
MISSING_SHOP_CIPHER = 106013
WRONG_TOKEN_FOR_SHOP = 101000
SCOPE_NOT_GRANTED = 105005
TOO_MANY_REQUESTS = 36009002


class ShopLike(Protocol):
    id: str
    cipher: str
    seller_id: str


class ShopDirectory(Protocol):
    def shop_by_cipher(self, cipher: str) -> ShopLike | None: ...


class GateError(ApiError):
    """A gateway refusal; unlike a business error it may carry response headers (``Retry-After``)."""

    def __init__(
        self, code: int, message: str, http_status: int, headers: tuple[tuple[bytes, bytes], ...] = ()
    ) -> None:
        super().__init__(code, message, http_status)
        self.headers = headers


@dataclass(frozen=True)
class RouteAccess:
    """What an endpoint demands of its caller."""

    shop_scoped: bool
    scope: str
    seller_token_only: bool = False


@dataclass(frozen=True)
class Admission:
    token: Token
    shop: ShopLike | None


class Gate:
    """Steps 1–9 of §8.2. HTTP statuses: 400 for malformed credentials and identifiers, 401 for authentication
    failures (invalid/expired token, bad signature — the §8.9 toggle ``auth_error_status`` can make 106001 and
    105002 travel with 200 instead), 401 for a missing scope, 429 for the rate limit."""

    def __init__(
        self,
        *,
        app: AppCredentials,
        auth: AuthService,
        shops: ShopDirectory,
        clock: Clock,
        limiter: RateLimiter,
        wall_clock: Callable[[], float] = time.time,
        auth_error_status: int = 401,
    ) -> None:
        self.app = app
        self.auth = auth
        self.shops = shops
        self.clock = clock
        self.limiter = limiter
        self.wall_clock = wall_clock
        self.auth_error_status = auth_error_status

    def admit(
        self,
        *,
        path: str,
        api: str,
        query: dict[str, str],
        signed_body: bytes,
        access_token: str | None,
        access: RouteAccess,
    ) -> Admission:
        """Run steps 1–9 for one request. ``api`` names the endpoint for the rate limit (the route template, so
        calls on different return ids share one quota); ``signed_body`` is the raw body, or b"" for multipart."""
        app_key = query.get("app_key")
        if app_key != self.app.app_key:
            raise GateError(
                INVALID_CREDENTIALS, "Invalid credentials. Invalid app_key: it is missing or unknown.", 400
            )

        sign = query.get("sign")
        if not sign:
            raise GateError(INVALID_CREDENTIALS, "Missing credentials. The sign query parameter is required.", 400)

        self._check_timestamp(query.get("timestamp"))

        if not is_valid_request_signature(self.app.app_secret, path, query, signed_body, sign):
            raise GateError(INVALID_SIGN, "Invalid signature. The sign does not match the request.",
                            self.auth_error_status)

        token = self.auth.token(access_token) if access_token else None
        if token is None or token.app_key != app_key:
            raise GateError(
                INVALID_CREDENTIALS,
                "Invalid credentials. The access token in the x-tts-access-token header is invalid.",
                401,
            )
        if self.clock.now() >= token.access_expires_at:
            raise GateError(
                TOKEN_EXPIRED, "Expired credentials. The access token has expired; refresh it.",
                self.auth_error_status,
            )

        shop = self._check_shop_cipher(query.get("shop_cipher"), access)

        if shop is not None and shop.seller_id != token.seller_id:
            raise GateError(
                WRONG_TOKEN_FOR_SHOP, "Invalid parameter. The access token is not authorized for this shop.", 400
            )
        if access.seller_token_only and token.user_type != USER_TYPE_SELLER:
            raise GateError(
                WRONG_TOKEN_FOR_SHOP,
                f"Invalid parameter. This API needs a seller token (user_type 0), got user_type {token.user_type}.",
                400,
            )

        if access.scope not in token.scopes:
            raise GateError(
                SCOPE_NOT_GRANTED,
                f"Access denied. The scope {access.scope} has not been granted to this app or token.",
                401,
            )

        if not self.limiter.allow((app_key, shop.cipher if shop is not None else "", api)):
            raise GateError(
                TOO_MANY_REQUESTS,
                "Too many requests. The rate limit of this API was exceeded.",
                429,
                ((b"retry-after", b"1"),),
            )
        return Admission(token=token, shop=shop)

    def _check_timestamp(self, raw: str | None) -> None:
        try:
            timestamp = int(raw) if raw is not None else None
        except ValueError:
            timestamp = None
        now = self.wall_clock()
        if (
            timestamp is None
            or timestamp < 0
            or timestamp < now - TIMESTAMP_PAST_SECONDS
            or timestamp > now + TIMESTAMP_FUTURE_SECONDS
        ):
            raise GateError(
                INVALID_CREDENTIALS,
                "Invalid timestamp. It must be Unix seconds within 300 s before and 30 s after the server time.",
                400,
            )

    def _check_shop_cipher(self, cipher: str | None, access: RouteAccess) -> ShopLike | None:
        if not access.shop_scoped:
            if cipher is not None:
                raise GateError(
                    INVALID_CREDENTIALS, "Unexpected identifier. This API does not take shop_cipher.", 400
                )
            return None
        if not cipher:
            raise GateError(MISSING_SHOP_CIPHER, "Missing identifier. shop_cipher is required for this API.", 400)
        shop = self.shops.shop_by_cipher(cipher)
        if shop is None:
            raise GateError(INVALID_CREDENTIALS, "Invalid shop. The shop_cipher is invalid.", 400)
        return shop
