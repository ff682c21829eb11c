"""Stores (credentials encrypted with ``SecretBox``) and the cached TikTok order → store order matches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from returnbridge.db.models import Store, StoreEffect, StoreOrderMatch, utcnow
from returnbridge.db.secretbox import SecretBox


class StoreRepository:
    def __init__(self, session: Session, box: SecretBox | None = None) -> None:
        self.session = session
        self.box = box

    def add(self, platform: str, name: str, base_url: str, credentials: str, settings: dict[str, Any], *,
            shop_domain: str = "") -> Store:
        if self.box is None:
            raise RuntimeError("a SecretBox is needed to store credentials")
        store = Store(platform=platform, name=name, base_url=base_url, shop_domain=shop_domain,
                      credentials_encrypted=self.box.encrypt(credentials), settings=settings)
        self.session.add(store)
        self.session.flush()
        return store

    def get(self, store_id: int, *, for_update: bool = False) -> Store | None:
        if for_update:
            return self.session.scalars(select(Store).where(Store.id == store_id).with_for_update()).first()
        return self.session.get(Store, store_id)

    def delete(self, store: Store) -> tuple[int, int]:
        """Delete the store with its outbox rows and order matches; gives (effects, matches) deleted. Explicit
        rather than left to ON DELETE CASCADE so the counts are known and SQLite without foreign keys agrees."""
        effects = self.session.execute(delete(StoreEffect).where(StoreEffect.store_id == store.id)).rowcount
        matches = self.session.execute(delete(StoreOrderMatch).where(StoreOrderMatch.store_id == store.id)).rowcount
        self.session.delete(store)
        self.session.flush()
        return int(effects or 0), int(matches or 0)

    def all(self) -> list[Store]:
        return list(self.session.scalars(select(Store).order_by(Store.id)))

    def credentials(self, store: Store) -> str:
        if self.box is None:
            raise RuntimeError("a SecretBox is needed to read credentials")
        return self.box.decrypt(store.credentials_encrypted)

    def set_settings(self, store: Store, settings: dict[str, Any]) -> None:
        store.settings = settings
        store.updated_at = utcnow()

    # --- order matches ---------------------------------------------------------------------------------------

    def match(self, store_id: int, tiktok_order_id: str) -> StoreOrderMatch | None:
        return self.session.scalars(select(StoreOrderMatch).where(
            StoreOrderMatch.store_id == store_id, StoreOrderMatch.tiktok_order_id == tiktok_order_id
        )).first()

    def save_match(
        self, store_id: int, tiktok_order_id: str, store_order_id: str, store_order_name: str, *, source: str,
        strategy: str,
    ) -> None:
        """Insert or replace the match; a hand-made (``manual``) match is never replaced by a lookup."""
        dialect = self.session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(StoreOrderMatch.__table__)
        values = {"store_id": store_id, "tiktok_order_id": tiktok_order_id, "store_order_id": store_order_id,
                  "store_order_name": store_order_name[:255], "source": source,
                  "strategy": strategy[:32],  # a label for people; the full strategy is in the settings
                  "matched_at": utcnow()}
        stmt = insert.values(**values).on_conflict_do_update(
            index_elements=["store_id", "tiktok_order_id"],
            set_={k: v for k, v in values.items() if k not in ("store_id", "tiktok_order_id")},
            where=(StoreOrderMatch.source != "manual") | (insert.excluded.source == "manual"),
        )
        self.session.execute(stmt)

    def forget_match(self, store_id: int, tiktok_order_id: str) -> None:
        self.session.execute(delete(StoreOrderMatch).where(
            StoreOrderMatch.store_id == store_id, StoreOrderMatch.tiktok_order_id == tiktok_order_id
        ))
