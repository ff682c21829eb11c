"""Connecting TikTok shops (OAuth code → one account per authorized shop), listing and disconnecting them.

Shared by the web callback (``GET /connect/tiktok/callback``) and the CLI (``returnbridge accounts …``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import AccountStatus, SyncState, TikTokAccount
from returnbridge.db.repositories.accounts import AccountRepository, ShopIdentity
from returnbridge.errors import UserFacingError
from returnbridge.sync.tokens import stored_tokens
from returnbridge.tiktok import AuthorizedShop, InvalidAuthCode, InvalidCredentials, TikTokError, TokenSet

if TYPE_CHECKING:
    from returnbridge.sync.runtime import Runtime

log = logging.getLogger(__name__)

# What the connector calls (contract §2.6); a seller can untick scopes on the consent page.
REQUIRED_SCOPES = ("seller.return_refund.basic", "seller.order.info", "seller.authorization.info")
SELLER_USER_TYPE = 0
# The shop webhooks a connected shop is subscribed to (contract §5: types 12, 11, 6, 7); the poll still runs, so a
# shop whose subscription failed is only slower to show changes, never missing them.
WEBHOOK_EVENTS = (
    "RETURN_STATUS_CHANGE", "CANCELLATION_STATUS_CHANGE", "SELLER_DEAUTHORIZATION",
    "UPCOMING_AUTHORIZATION_EXPIRATION",
)
WEBHOOK_PATH = "/webhooks/tiktok"


class AuthorizationFailed(UserFacingError):
    """TikTok refused the authorization (bad, expired or used code; not a seller; no shop): authorize again."""


class TikTokUnreachable(UserFacingError):
    """TikTok did not answer usefully (network, overload); the same step may work in a minute."""


class AccountNotFound(UserFacingError):
    """No connected shop matches what the operator typed."""


@dataclass(frozen=True)
class ConnectedShop:
    account_id: int
    shop_id: str
    shop_name: str
    region: str
    seller_name: str
    reconnected: bool  # the shop was connected before (perhaps expired or disabled) and is active again
    missing_scopes: tuple[str, ...] = ()
    webhook_problem: str = ""  # why TikTok's webhooks could not be subscribed (empty when they were)


@dataclass(frozen=True)
class AccountSummary:
    account_id: int
    shop_id: str
    shop_name: str
    region: str
    status: str
    status_reason: str
    access_token_expires_at: datetime
    refresh_token_expires_at: datetime
    authorization_expires_at: datetime | None
    last_poll_ok_at: datetime | None
    last_webhook_at: datetime | None


def connect_with_auth_code(runtime: Runtime, code: str) -> list[ConnectedShop]:
    """Exchange a consent ``code`` for tokens and store one active account per shop the seller authorized.

    The code is single-use and is sent once (no retry). A shop that was connected before is updated in place and
    becomes active again, whatever made it expired or disabled. Nothing is stored when any step fails.
    """
    code = code.strip()
    if not code or code == "null":
        raise AuthorizationFailed("No authorization code was given: authorize the app on TikTok Shop first.")
    tokens = _exchange(runtime, code)
    if tokens.user_type is not None and tokens.user_type != SELLER_USER_TYPE:
        raise AuthorizationFailed(
            f"This TikTok account is not a seller account (user type {tokens.user_type}); returns and refunds "
            "need the seller's authorization."
        )
    shops = _authorized_shops(runtime, tokens)
    if not shops:
        raise AuthorizationFailed("TikTok accepted the authorization but lists no shop for this seller.")
    granted = set(tokens.granted_scopes)
    # TikTok may leave granted_scopes out; only a list that is there and lacks a scope is worth a warning.
    missing = tuple(scope for scope in REQUIRED_SCOPES if granted and scope not in granted)
    connected: list[ConnectedShop] = []
    with transaction(runtime.sessions) as session:
        repo = AccountRepository(session, runtime.box)
        for shop in shops:
            reconnected = repo.by_shop_id(shop.id) is not None
            identity = ShopIdentity(
                shop_id=shop.id,
                shop_cipher=shop.cipher,
                shop_name=shop.name or "",
                shop_code=shop.code or "",
                region=shop.region or "",
                seller_type=shop.seller_type or "",
                seller_name=tokens.seller_name or "",
                open_id=tokens.open_id or "",
            )
            account = repo.connect(identity, stored_tokens(tokens))
            connected.append(
                ConnectedShop(
                    account_id=account.id,
                    shop_id=account.shop_id,
                    shop_name=account.shop_name,
                    region=account.region,
                    seller_name=account.seller_name,
                    reconnected=reconnected,
                    missing_scopes=missing,
                )
            )
    if runtime.settings.tiktok_subscribe_webhooks:
        connected = [replace(shop, webhook_problem=subscribe_webhooks(runtime, shop.account_id)) for shop in connected]
    return connected


def subscribe_webhooks(runtime: Runtime, account_id: int) -> str:
    """Point the shop's return, cancellation and authorization webhooks at this installation; gives the problem
    (empty on success). Done after the account is committed: a refusal here must not undo the connection."""
    address = f"{runtime.settings.public_url}{WEBHOOK_PATH}"
    shop = runtime.shop_client(account_id)
    try:
        for event_type in WEBHOOK_EVENTS:
            shop.subscribe_webhook(event_type, address)
    except (TikTokError, httpx.HTTPError) as failure:
        problem = f"TikTok did not subscribe the webhooks to {address}: {failure}"
        log.warning("account %s: %s", account_id, problem)
        return problem
    return ""


def _exchange(runtime: Runtime, code: str) -> TokenSet:
    try:
        return runtime.tiktok.get_access_token(code)
    except InvalidAuthCode as refused:
        raise AuthorizationFailed(
            "TikTok refused this authorization code: it is wrong, expired (codes last 30 minutes) or already used. "
            "Authorize the app again to get a new one."
        ) from refused
    except InvalidCredentials as refused:
        raise AuthorizationFailed(
            f"TikTok refused the app's credentials ({refused.code}: {refused.message}); check "
            "RETURNBRIDGE_TIKTOK_APP_KEY and RETURNBRIDGE_TIKTOK_APP_SECRET."
        ) from refused
    except TikTokError as failure:
        raise TikTokUnreachable(f"TikTok did not exchange the authorization code: {failure}") from failure


def _authorized_shops(runtime: Runtime, tokens: TokenSet) -> list[AuthorizedShop]:
    try:
        return runtime.tiktok.get_authorized_shops(tokens.access_token)
    except InvalidCredentials as refused:
        raise AuthorizationFailed(
            f"TikTok refused to list the seller's shops ({refused.code}: {refused.message}); make sure the "
            "seller.authorization.info scope is granted and authorize again."
        ) from refused
    except TikTokError as failure:
        raise TikTokUnreachable(f"TikTok did not list the authorized shops: {failure}") from failure


def list_accounts(runtime: Runtime) -> list[AccountSummary]:
    """Every connected shop with its status, token expiry and the latest poll and webhook over its streams."""
    with transaction(runtime.sessions) as session:
        accounts = AccountRepository(session, runtime.box).list_all()
        health: dict[int, list[SyncState]] = {}
        for state in session.scalars(select(SyncState)):
            health.setdefault(state.account_id, []).append(state)
        return [_summary(account, health.get(account.id, [])) for account in accounts]


def disconnect_account(runtime: Runtime, which: str, *, reason: str = "") -> AccountSummary:
    """Mark a shop disabled (it is no longer synced); ``which`` is the account number or the TikTok shop id.

    TikTok keeps the app authorized until the seller removes it in Seller Center; connecting again re-enables it.
    """
    with transaction(runtime.sessions) as session:
        repo = AccountRepository(session, runtime.box)
        account = _find(repo, which)
        repo.set_status(account, AccountStatus.DISABLED, reason or "Disconnected by an administrator")
        states = list(session.scalars(select(SyncState).where(SyncState.account_id == account.id)))
        return _summary(account, states)


def _find(repo: AccountRepository, which: str) -> TikTokAccount:
    which = which.strip()
    account = None
    # Account numbers are small; shop ids are 19-digit strings and never compared as numbers.
    if which.isascii() and which.isdigit() and len(which) <= 9:
        account = repo.get(int(which), for_update=True)
    if account is None and which:
        account = repo.by_shop_id(which, for_update=True)
    if account is None:
        raise AccountNotFound(f"No connected TikTok shop has the account number or shop id {which!r}.")
    return account


def _summary(account: TikTokAccount, states: list[SyncState]) -> AccountSummary:
    return AccountSummary(
        account_id=account.id,
        shop_id=account.shop_id,
        shop_name=account.shop_name,
        region=account.region,
        status=account.status,
        status_reason=account.status_reason,
        access_token_expires_at=account.access_token_expires_at,
        refresh_token_expires_at=account.refresh_token_expires_at,
        authorization_expires_at=account.authorization_expires_at,
        last_poll_ok_at=_latest(state.last_poll_ok_at for state in states),
        last_webhook_at=_latest(state.last_webhook_at for state in states),
    )


def _latest(moments: Iterable[datetime | None]) -> datetime | None:
    present = [moment for moment in moments if moment is not None]
    return max(present) if present else None
