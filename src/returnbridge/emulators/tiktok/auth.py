"""The auth host: apps, one-time auth codes, access/refresh tokens (contract §2).

Token lifetimes run on the business clock so a test can make a week pass in a moment. Decisions the contract leaves
open (§2.4, §9.12) follow its recommendation: a refresh mints a new access AND refresh token, the old access token
stays valid until its own expiry, and the old refresh token stops working at once.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from .clock import Clock
from .errors import ApiError

ACCESS_TOKEN_SECONDS = 7 * 24 * 3600
REFRESH_TOKEN_SECONDS = 365 * 24 * 3600
AUTH_CODE_SECONDS = 30 * 60

SCOPE_RETURN_REFUND = "seller.return_refund.basic"
SCOPE_ORDER = "seller.order.info"
SCOPE_AUTHORIZATION = "seller.authorization.info"
SCOPE_PRODUCT = "seller.product.basic"
SCOPE_FULFILLMENT = "seller.fulfillment.basic"
DEFAULT_SCOPES: tuple[str, ...] = (
    SCOPE_RETURN_REFUND,
    SCOPE_ORDER,
    SCOPE_AUTHORIZATION,
    SCOPE_PRODUCT,
    SCOPE_FULFILLMENT,
)

USER_TYPE_SELLER = 0

INVALID_AUTH_CODE = 36004004
INVALID_CREDENTIALS = 36009004


class SellerLike(Protocol):
    id: str
    name: str
    base_region: str


@dataclass(frozen=True)
class AppCredentials:
    """One partner app: what the consent page and the token endpoints check."""

    app_key: str
    app_secret: str
    service_id: str = "emulator-service"
    redirect_url: str | None = None


@dataclass
class Token:
    """One access token together with the refresh token minted with it."""

    access_token: str
    refresh_token: str
    app_key: str
    seller_id: str
    seller_name: str
    seller_base_region: str
    user_type: int
    scopes: tuple[str, ...]
    access_expires_at: int
    refresh_expires_at: int
    refresh_used: bool = False
    revoked: bool = False

    def response_data(self) -> dict:
        """The ``data`` object of the token endpoints (§2.4): expiry fields are ABSOLUTE timestamps."""
        return {
            "access_token": self.access_token,
            "access_token_expire_in": self.access_expires_at,
            "refresh_token": self.refresh_token,
            "refresh_token_expire_in": self.refresh_expires_at,
            "open_id": self.seller_id,
            "seller_name": self.seller_name,
            "seller_base_region": self.seller_base_region,
            "user_type": self.user_type,
            "granted_scopes": list(self.scopes),
        }


@dataclass
class AuthCode:
    code: str
    app_key: str
    seller_id: str
    expires_at: int
    used: bool = False


@dataclass
class AuthService:
    """Auth codes and tokens of one app, keyed for O(1) lookup on every API call."""

    app: AppCredentials
    clock: Clock
    sellers: Callable[[], Iterable[SellerLike]]
    _codes: dict[str, AuthCode] = field(default_factory=dict)
    _by_access: dict[str, Token] = field(default_factory=dict)
    _by_refresh: dict[str, Token] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- lookups -----------------------------------------------------------------------------------------------

    def seller(self, seller_id: str) -> SellerLike | None:
        for seller in self.sellers():
            if seller.id == seller_id:
                return seller
        return None

    def token(self, access_token: str) -> Token | None:
        """The token behind an ``x-tts-access-token`` value, or None if unknown or revoked (expiry is not checked
        here: the gate reports an expired token with its own code)."""
        token = self._by_access.get(access_token)
        if token is None or token.revoked:
            return None
        return token

    def tokens_of(self, seller_id: str) -> list[Token]:
        with self._lock:
            return [t for t in self._by_access.values() if t.seller_id == seller_id]

    # --- auth codes --------------------------------------------------------------------------------------------

    def mint_code(self, seller_id: str) -> AuthCode:
        """A single-use code for ``seller_id``, valid 30 minutes on the business clock (§2.1)."""
        if self.seller(seller_id) is None:
            raise KeyError(seller_id)
        code = AuthCode(
            code="ROW_" + secrets.token_urlsafe(24),
            app_key=self.app.app_key,
            seller_id=seller_id,
            expires_at=self.clock.now() + AUTH_CODE_SECONDS,
        )
        with self._lock:
            self._codes[code.code] = code
        return code

    # --- token endpoints ---------------------------------------------------------------------------------------

    def _check_app(self, app_key: str, app_secret: str, grant_type: str, expected_grant: str) -> None:
        if app_key != self.app.app_key:
            raise ApiError(INVALID_CREDENTIALS, "Invalid credentials. Invalid app_key.", 400)
        if not secrets.compare_digest(app_secret.encode(), self.app.app_secret.encode()):
            raise ApiError(INVALID_CREDENTIALS, "Invalid credentials. Invalid app_secret.", 400)
        if grant_type != expected_grant:
            raise ApiError(
                INVALID_CREDENTIALS, f"Invalid parameter. grant_type must be {expected_grant}.", 400
            )

    def exchange_code(self, *, app_key: str, app_secret: str, auth_code: str, grant_type: str) -> Token:
        """``/api/v2/token/get``: a valid, unused, unexpired code becomes a token pair; the code is then spent."""
        self._check_app(app_key, app_secret, grant_type, "authorized_code")
        with self._lock:
            code = self._codes.get(auth_code)
            if code is None or code.used or code.app_key != app_key or self.clock.now() >= code.expires_at:
                raise ApiError(INVALID_AUTH_CODE, "Invalid auth code. The auth_code is invalid, used or expired.")
            code.used = True
        return self.issue(code.seller_id)

    def refresh(self, *, app_key: str, app_secret: str, refresh_token: str, grant_type: str) -> Token:
        """``/api/v2/token/refresh``: new access AND refresh token; the old refresh token stops working."""
        self._check_app(app_key, app_secret, grant_type, "refresh_token")
        with self._lock:
            old = self._by_refresh.get(refresh_token)
            if (
                old is None
                or old.refresh_used
                or old.revoked
                or self.clock.now() >= old.refresh_expires_at
            ):
                raise ApiError(INVALID_CREDENTIALS, "Invalid credentials. The refresh_token is invalid.", 400)
            old.refresh_used = True
            del self._by_refresh[refresh_token]
        return self.issue(old.seller_id, scopes=old.scopes, user_type=old.user_type)

    # --- direct issue and lifecycle (control API) --------------------------------------------------------------

    def issue(
        self,
        seller_id: str,
        *,
        scopes: Iterable[str] | None = None,
        user_type: int = USER_TYPE_SELLER,
        access_expires_at: int | None = None,
        refresh_expires_at: int | None = None,
    ) -> Token:
        seller = self.seller(seller_id)
        if seller is None:
            raise KeyError(seller_id)
        now = self.clock.now()
        token = Token(
            access_token="TTP_" + secrets.token_urlsafe(24),
            refresh_token="TTP_" + secrets.token_urlsafe(24),
            app_key=self.app.app_key,
            seller_id=seller.id,
            seller_name=seller.name,
            seller_base_region=seller.base_region,
            user_type=user_type,
            scopes=tuple(DEFAULT_SCOPES if scopes is None else scopes),
            access_expires_at=now + ACCESS_TOKEN_SECONDS if access_expires_at is None else access_expires_at,
            refresh_expires_at=now + REFRESH_TOKEN_SECONDS if refresh_expires_at is None else refresh_expires_at,
        )
        with self._lock:
            self._by_access[token.access_token] = token
            self._by_refresh[token.refresh_token] = token
        return token

    def expire(self, seller_id: str, *, include_refresh: bool = False) -> int:
        """Make every access token of the seller expired now (refresh keeps working unless ``include_refresh``).

        Returns how many tokens were touched."""
        now = self.clock.now()
        touched = 0
        with self._lock:
            for token in self._by_access.values():
                if token.seller_id != seller_id:
                    continue
                token.access_expires_at = min(token.access_expires_at, now - 1)
                if include_refresh:
                    token.refresh_expires_at = min(token.refresh_expires_at, now - 1)
                touched += 1
        return touched

    def revoke(self, seller_id: str) -> int:
        """Deauthorization: every token of the seller stops working, access and refresh alike."""
        touched = 0
        with self._lock:
            for token in self._by_access.values():
                if token.seller_id == seller_id and not token.revoked:
                    token.revoked = True
                    self._by_refresh.pop(token.refresh_token, None)
                    touched += 1
        return touched
