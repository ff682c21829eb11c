"""Everything a process needs to do sync work, built once from the settings and shared by its threads."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from returnbridge.config import Settings
from returnbridge.db.engine import make_engine, make_session_factory
from returnbridge.db.secretbox import SecretBox
from returnbridge.errors import UserFacingError
from returnbridge.tiktok import ShopClient, TikTokClient


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    box: SecretBox
    _tiktok: TikTokClient | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.effective_database_url)
        return cls(settings, engine, make_session_factory(engine), SecretBox(settings.resolved_secret_key()))

    @property
    def tiktok(self) -> TikTokClient:
        """One client per process: one HTTP pool and one rate limiter (buckets per shop and API) for all shops."""
        with self._lock:
            if self._tiktok is None:
                s = self.settings
                if not s.tiktok_app_key or not s.tiktok_app_secret:
                    raise UserFacingError(
                        "TikTok app credentials are not configured: set RETURNBRIDGE_TIKTOK_APP_KEY and "
                        "RETURNBRIDGE_TIKTOK_APP_SECRET"
                    )
                self._tiktok = TikTokClient(
                    app_key=s.tiktok_app_key,
                    app_secret=s.tiktok_app_secret,
                    api_base=s.tiktok_api_base,
                    auth_base=s.tiktok_auth_base,
                    authorize_url=s.tiktok_authorize_url,
                    service_id=s.tiktok_service_id,
                    rate_per_second=s.tiktok_rate_per_second,
                )
            return self._tiktok

    def shop_client(self, account_id: int) -> ShopClient:
        """A client for one connected shop whose tokens live (encrypted) in the database."""
        from returnbridge.sync.tokens import DatabaseTokenSource

        source = DatabaseTokenSource(self, account_id)
        return self.tiktok.shop(source.shop_cipher, source)

    def close(self) -> None:
        with self._lock:
            if self._tiktok is not None:
                self._tiktok.close()
                self._tiktok = None
        self.engine.dispose()
