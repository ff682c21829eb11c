"""TikTok accounts (one per authorized shop) and their encrypted tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from returnbridge.db.models import AccountStatus, TikTokAccount
from returnbridge.db.secretbox import SecretBox


@dataclass(frozen=True)
class StoredTokens:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    granted_scopes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ShopIdentity:
    shop_id: str
    shop_cipher: str
    shop_name: str = ""
    shop_code: str = ""
    region: str = ""
    seller_type: str = ""
    seller_name: str = ""
    open_id: str = ""


class AccountRepository:
    def __init__(self, session: Session, box: SecretBox) -> None:
        self.session = session
        self.box = box

    def connect(self, shop: ShopIdentity, tokens: StoredTokens) -> TikTokAccount:
        """Create the account for a shop, or refresh it when the seller authorizes again (it becomes active)."""
        account = self.by_shop_id(shop.shop_id, for_update=True)
        if account is None:
            account = TikTokAccount(shop_id=shop.shop_id)
            self.session.add(account)
        account.shop_cipher = shop.shop_cipher
        account.shop_name = shop.shop_name
        account.shop_code = shop.shop_code
        account.region = shop.region
        account.seller_type = shop.seller_type
        account.seller_name = shop.seller_name
        account.open_id = shop.open_id
        account.status = AccountStatus.ACTIVE.value
        account.status_reason = ""
        account.authorization_expires_at = None
        self._write_tokens(account, tokens)
        self.session.flush()
        return account

    def get(self, account_id: int, *, for_update: bool = False) -> TikTokAccount | None:
        stmt = select(TikTokAccount).where(TikTokAccount.id == account_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def by_shop_id(self, shop_id: str, *, for_update: bool = False) -> TikTokAccount | None:
        stmt = select(TikTokAccount).where(TikTokAccount.shop_id == shop_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def list_all(self) -> list[TikTokAccount]:
        return list(self.session.scalars(select(TikTokAccount).order_by(TikTokAccount.id)))

    def list_active(self) -> list[TikTokAccount]:
        stmt = (
            select(TikTokAccount)
            .where(TikTokAccount.status == AccountStatus.ACTIVE.value)
            .order_by(TikTokAccount.id)
        )
        return list(self.session.scalars(stmt))

    def same_seller(self, account: TikTokAccount) -> list[TikTokAccount]:
        """The seller's other shops (same ``open_id``), locked: they share one OAuth authorization."""
        if not account.open_id:
            return []
        stmt = (
            select(TikTokAccount)
            .where(TikTokAccount.open_id == account.open_id, TikTokAccount.id != account.id)
            .order_by(TikTokAccount.id)
            .with_for_update()
        )
        return list(self.session.scalars(stmt))

    def tokens(self, account: TikTokAccount) -> StoredTokens:
        return StoredTokens(
            access_token=self.box.decrypt(account.access_token_encrypted),
            access_token_expires_at=account.access_token_expires_at,
            refresh_token=self.box.decrypt(account.refresh_token_encrypted),
            refresh_token_expires_at=account.refresh_token_expires_at,
            granted_scopes=list(account.granted_scopes or []),
        )

    def save_tokens(self, account: TikTokAccount, tokens: StoredTokens) -> None:
        self._write_tokens(account, tokens)
        self.session.flush()

    def set_status(self, account: TikTokAccount, status: AccountStatus, reason: str = "") -> None:
        account.status = status.value
        account.status_reason = reason
        self.session.flush()

    def _write_tokens(self, account: TikTokAccount, tokens: StoredTokens) -> None:
        account.access_token_encrypted = self.box.encrypt(tokens.access_token)
        account.access_token_expires_at = tokens.access_token_expires_at
        account.refresh_token_encrypted = self.box.encrypt(tokens.refresh_token)
        account.refresh_token_expires_at = tokens.refresh_token_expires_at
        account.granted_scopes = list(tokens.granted_scopes)
