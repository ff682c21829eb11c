"""A shop's OAuth tokens kept in the database, refreshed by whichever process needs them first.

Several processes (web, workers, a CLI sync) use the same shop's tokens. A refresh runs under the account's row
lock and first compares the stored access token with the one that was found stale: when they differ another
process refreshed in between, and its tokens are used. A second refresh would burn the rotated refresh token
(TikTok's refresh token is single-use on the emulator and possibly on TikTok, contract §2.3).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from returnbridge.db.engine import transaction
from returnbridge.db.models import AccountStatus, TikTokAccount
from returnbridge.db.repositories.accounts import AccountRepository, StoredTokens
from returnbridge.errors import UserFacingError
from returnbridge.tiktok import InvalidCredentials, TokenExpired, TokenSet

if TYPE_CHECKING:
    from returnbridge.sync.runtime import Runtime

log = logging.getLogger(__name__)


class AccountUnavailable(UserFacingError):
    """The account does not exist, or it is expired or disabled: the seller must reconnect it."""


def token_set(tokens: StoredTokens) -> TokenSet:
    return TokenSet(
        access_token=tokens.access_token,
        access_token_expires_at=tokens.access_token_expires_at,
        refresh_token=tokens.refresh_token,
        refresh_token_expires_at=tokens.refresh_token_expires_at,
        granted_scopes=tokens.granted_scopes,
    )


def stored_tokens(tokens: TokenSet) -> StoredTokens:
    return StoredTokens(
        access_token=tokens.access_token,
        access_token_expires_at=tokens.access_token_expires_at,
        refresh_token=tokens.refresh_token,
        refresh_token_expires_at=tokens.refresh_token_expires_at,
        granted_scopes=list(tokens.granted_scopes),
    )


def _usable(account: TikTokAccount | None, account_id: int) -> TikTokAccount:
    if account is None:
        raise AccountUnavailable(f"TikTok account {account_id} does not exist")
    if account.status != AccountStatus.ACTIVE.value:
        reason = f": {account.status_reason}" if account.status_reason else ""
        raise AccountUnavailable(f"TikTok shop {account.shop_name or account.shop_id} is {account.status}{reason}")
    return account


class DatabaseTokenSource:
    """``TokenSource`` for one account, backed by its encrypted row."""

    def __init__(self, runtime: Runtime, account_id: int) -> None:
        self._runtime = runtime
        self.account_id = account_id
        self._lock = threading.Lock()
        with transaction(runtime.sessions) as session:
            repo = AccountRepository(session, runtime.box)
            account = _usable(repo.get(account_id), account_id)
            self.shop_cipher = account.shop_cipher
            self.shop_id = account.shop_id
            self._tokens = token_set(repo.tokens(account))

    def current(self) -> TokenSet:
        with self._lock:
            return self._tokens

    def refresh(self, stale: TokenSet) -> TokenSet:
        with self._lock:
            expired_reason = ""
            with transaction(self._runtime.sessions) as session:
                repo = AccountRepository(session, self._runtime.box)
                account = _usable(repo.get(self.account_id, for_update=True), self.account_id)
                stored = repo.tokens(account)
                if stored.access_token != stale.access_token:
                    self._tokens = token_set(stored)  # another process refreshed first
                    return self._tokens
                try:
                    fresh = self._runtime.tiktok.refresh_access_token(stored.refresh_token)
                except (InvalidCredentials, TokenExpired) as refused:
                    expired_reason = f"TikTok refused to renew the authorization ({refused.code}): reconnect the shop"
                    repo.set_status(account, AccountStatus.EXPIRED, expired_reason)
                else:
                    repo.save_tokens(account, stored_tokens(fresh))
                    # One seller authorization covers all of the seller's shops, and a refresh rotates the refresh
                    # token: every shop of the seller gets the new pair, or the next one to refresh would be refused.
                    for sibling in repo.same_seller(account):
                        repo.save_tokens(sibling, stored_tokens(fresh))
                    self._tokens = fresh
                    log.info("refreshed the access token of shop %s", self.shop_id)
                    return fresh
            raise AccountUnavailable(expired_reason)
