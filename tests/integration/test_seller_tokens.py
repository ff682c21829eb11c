"""One seller authorization, several shops: a refresh for one shop must not strand the others."""

from __future__ import annotations

from typing import Any

from returnbridge.db.engine import transaction
from returnbridge.db.models import TikTokAccount
from returnbridge.db.repositories.accounts import AccountRepository, ShopIdentity
from returnbridge.sync.ingest import pull_account
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.tokens import DatabaseTokenSource, stored_tokens

from .conftest import Control


def connect_seller_shops(runtime: Runtime, control: Control) -> list[int]:
    seller = control("GET", "/sellers")["sellers"][0]
    shops: list[dict[str, Any]] = [
        control("POST", "/shops", {"region": "US", "currency": "USD", "name": name, "seller_id": seller["id"]})
        for name in ("Sibling one", "Sibling two")
    ]
    code = control("POST", "/auth/code", {"shop_id": shops[0]["id"]})["code"]
    tokens = runtime.tiktok.get_access_token(code)
    with transaction(runtime.sessions) as session:
        repo = AccountRepository(session, runtime.box)
        return [
            repo.connect(
                ShopIdentity(shop_id=s["id"], shop_cipher=s["cipher"], open_id=tokens.open_id or ""),
                stored_tokens(tokens),
            ).id
            for s in shops
        ]


def test_refreshing_one_shop_gives_its_sibling_shops_the_new_tokens(runtime: Runtime, control: Control) -> None:
    first, second = connect_seller_shops(runtime, control)
    source = DatabaseTokenSource(runtime, first)
    source.refresh(source.current())
    with transaction(runtime.sessions) as session:
        repo = AccountRepository(session, runtime.box)
        a, b = session.get(TikTokAccount, first), session.get(TikTokAccount, second)
        assert a is not None and b is not None
        assert repo.tokens(a).refresh_token == repo.tokens(b).refresh_token


def test_sibling_shop_can_still_refresh_after_the_first_one_did(runtime: Runtime, control: Control) -> None:
    first, second = connect_seller_shops(runtime, control)
    source = DatabaseTokenSource(runtime, first)
    source.refresh(source.current())
    sibling = DatabaseTokenSource(runtime, second)
    renewed = sibling.refresh(sibling.current())  # a real refresh with the rotated refresh token
    assert renewed.access_token
    pull_account(runtime, second)
    with transaction(runtime.sessions) as session:
        assert session.get(TikTokAccount, second).status == "active"  # type: ignore[union-attr]
