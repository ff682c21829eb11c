"""Settings from the environment and `.env`, all prefixed ``RETURNBRIDGE_``.

Defaults make a fresh checkout work with no setup: SQLite under ``./var/``, a secret key generated on first run,
and the real TikTok hosts (tests and the demo point them at the emulator).
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TIKTOK_API_BASE = "https://open-api.tiktokglobalshop.com"
DEFAULT_TIKTOK_AUTH_BASE = "https://auth.tiktok-shops.com"
# ROW consent host; the US one is uncertain in the contract (§1.1), hence a setting.
DEFAULT_TIKTOK_AUTHORIZE_URL = "https://services.tiktokshop.com/open/authorize"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RETURNBRIDGE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    var_dir: Path = Field(default=Path("var"), description="Where the SQLite file, queue and secret key live.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite under var_dir.")
    redis_url: str | None = None
    secret_key: str | None = None

    tiktok_app_key: str = ""
    tiktok_app_secret: str = ""
    tiktok_service_id: str = ""
    tiktok_api_base: str = DEFAULT_TIKTOK_API_BASE
    tiktok_auth_base: str = DEFAULT_TIKTOK_AUTH_BASE
    tiktok_authorize_url: str = DEFAULT_TIKTOK_AUTHORIZE_URL
    tiktok_subscribe_webhooks: bool = Field(
        default=True, description="Subscribe each connected shop's webhooks to public_url/webhooks/tiktok."
    )
    tiktok_rate_per_second: float = Field(default=50.0, gt=0, description="Per shop and API (TikTok allows 50).")

    public_url: str = Field(default="http://127.0.0.1:8600", description="Where merchants and TikTok reach us.")
    sync_interval_minutes: int = Field(default=5, ge=1, description="How often each shop is polled.")
    sync_backfill_days: int = Field(default=90, ge=1, description="History pulled on a shop's first sync.")
    # TikTok's search index can lag its writes; re-reading a window below the cursor catches late arrivals.
    sync_overlap_seconds: int = Field(default=300, ge=0)
    queue_workers: int = Field(default=4, ge=1, description="Job threads per `serve` or `worker` process.")
    queue_name: str = Field(default="returnbridge", min_length=1, description="Queue (and Redis key prefix) name.")

    # Back-office sign-in. Sessions slide forward while used, but never outlive session_max_hours.
    session_idle_minutes: int = Field(default=12 * 60, ge=1, description="Signed out after this long unused.")
    session_max_hours: int = Field(default=7 * 24, ge=1, description="Signed out this long after signing in.")
    login_max_failures: int = Field(default=5, ge=1, description="Failed sign-ins in a row that lock an account.")
    login_lockout_minutes: int = Field(default=15, ge=1, description="How long a lockout lasts.")
    login_ip_max_failures: int = Field(
        default=20, ge=1, description="Failed sign-ins from one address within the lockout time that block it."
    )
    # Only behind a reverse proxy that sets them: otherwise any client could claim HTTPS or another address.
    trust_proxy_headers: bool = Field(
        default=False, description="Believe X-Forwarded-Proto and X-Forwarded-For (last hop) from the proxy."
    )

    @field_validator("redis_url", "secret_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("tiktok_api_base", "tiktok_auth_base", "public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'returnbridge.sqlite3').resolve()}"

    def resolved_secret_key(self) -> str:
        """The configured key, or the one generated into ``var/secret_key`` (mode 0600) on first use."""
        if self.secret_key:
            return self.secret_key
        return load_or_create_secret_key(self.var_dir / "secret_key")


def load_or_create_secret_key(path: Path) -> str:
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once must not each write a different key; the loser reads the winner's.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
