"""SQLAlchemy models. All SQL lives in ``db``; other layers use the repositories."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import JSON, CheckConstraint, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from returnbridge.db.types import UTCDateTime

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"  # the authorization lapsed (refresh token expired or refused): the seller must reconnect
    DISABLED = "disabled"  # the seller revoked access (webhook type 6) or an admin switched the shop off


class TikTokAccount(Base):
    """One authorized TikTok shop. Tokens are stored encrypted (``SecretBox``), never in plain text."""

    __tablename__ = "tiktok_accounts"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'expired', 'disabled')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[str] = mapped_column(String(64), unique=True)
    shop_cipher: Mapped[str] = mapped_column(String(255))
    shop_name: Mapped[str] = mapped_column(String(255), default="")
    shop_code: Mapped[str] = mapped_column(String(64), default="")
    region: Mapped[str] = mapped_column(String(8), default="")
    seller_type: Mapped[str] = mapped_column(String(32), default="")
    seller_name: Mapped[str] = mapped_column(String(255), default="")
    open_id: Mapped[str] = mapped_column(String(255), default="")
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refresh_token_encrypted: Mapped[str] = mapped_column(Text)
    refresh_token_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    granted_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.ACTIVE.value)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    authorization_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
