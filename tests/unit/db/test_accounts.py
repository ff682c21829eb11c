from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from returnbridge.db.engine import transaction
from returnbridge.db.models import AccountStatus
from returnbridge.db.repositories.accounts import AccountRepository, ShopIdentity, StoredTokens
from returnbridge.db.secretbox import SecretBox

BOX = SecretBox("test-secret-key")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _tokens(access: str = "TTP_access_1") -> StoredTokens:
    return StoredTokens(
        access_token=access,
        access_token_expires_at=NOW + timedelta(days=7),
        refresh_token="TTP_refresh_1",
        refresh_token_expires_at=NOW + timedelta(days=365),
        granted_scopes=["seller.return_refund.basic", "seller.order.info"],
    )


SHOP = ShopIdentity(
    shop_id="7495540735365777507", shop_cipher="ROW_abc", shop_name="Acme UK", region="GB",
    seller_type="LOCAL", seller_name="Acme", open_id="open-1",
)


def test_connect_stores_tokens_encrypted_and_reads_them_back(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        AccountRepository(session, BOX).connect(SHOP, _tokens())
    with transaction(session_factory) as session:
        raw = session.execute(text("SELECT access_token_encrypted, refresh_token_encrypted FROM tiktok_accounts"))
        access_cipher, refresh_cipher = raw.one()
        assert "TTP_access_1" not in access_cipher
        assert "TTP_refresh_1" not in refresh_cipher
        repo = AccountRepository(session, BOX)
        account = repo.by_shop_id(SHOP.shop_id)
        assert account is not None
        assert repo.tokens(account) == _tokens()


def test_expiry_times_come_back_timezone_aware_utc(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        AccountRepository(session, BOX).connect(SHOP, _tokens())
    with transaction(session_factory) as session:
        account = AccountRepository(session, BOX).by_shop_id(SHOP.shop_id)
        assert account is not None
        assert account.access_token_expires_at == NOW + timedelta(days=7)
        assert account.access_token_expires_at.tzinfo is not None
        assert account.access_token_expires_at.utcoffset() == timedelta(0)


def test_naive_datetime_is_refused(session_factory: sessionmaker[Session]) -> None:
    naive = StoredTokens("a", datetime(2026, 1, 1), "r", NOW)
    with pytest.raises(Exception, match="naive datetime"), transaction(session_factory) as session:
        AccountRepository(session, BOX).connect(SHOP, naive)


def test_reconnecting_a_shop_updates_the_same_account_and_reactivates_it(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        repo = AccountRepository(session, BOX)
        account = repo.connect(SHOP, _tokens())
        repo.set_status(account, AccountStatus.DISABLED, "Seller revoked access")
        first_id = account.id
    with transaction(session_factory) as session:
        repo = AccountRepository(session, BOX)
        again = repo.connect(SHOP, _tokens("TTP_access_2"))
        assert again.id == first_id
        assert again.status == "active"
        assert again.status_reason == ""
        assert repo.tokens(again).access_token == "TTP_access_2"
        assert len(repo.list_all()) == 1


def test_disabled_accounts_are_not_listed_as_active(session_factory: sessionmaker[Session]) -> None:
    other = ShopIdentity(shop_id="2", shop_cipher="ROW_2")
    with transaction(session_factory) as session:
        repo = AccountRepository(session, BOX)
        repo.connect(SHOP, _tokens())
        disabled = repo.connect(other, _tokens())
        repo.set_status(disabled, AccountStatus.EXPIRED, "Authorization expired")
    with transaction(session_factory) as session:
        active = AccountRepository(session, BOX).list_active()
        assert [a.shop_id for a in active] == [SHOP.shop_id]


def test_status_outside_the_known_set_is_refused_by_the_database(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        AccountRepository(session, BOX).connect(SHOP, _tokens())
    with pytest.raises(Exception, match=r"(?i)check"), transaction(session_factory) as session:
        session.execute(text("UPDATE tiktok_accounts SET status = 'paused'"))
