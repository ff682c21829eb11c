"""The Connections page's view of each TikTok shop: status and why, when it was last polled and last heard from by
webhook, how far behind it may be, its latest error, and when its authorization runs out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from returnbridge.db.models import Case
from returnbridge.sync.upkeep import AccountHealth, account_health


@dataclass(frozen=True, slots=True)
class ShopConnection:
    account_id: int
    shop_id: str
    name: str
    region: str
    status: str  # active, expired, disabled
    status_reason: str
    last_poll_at: datetime | None  # the latest successful poll over both streams
    last_webhook_at: datetime | None
    newest_update_at: datetime | None  # TikTok's update time of the newest change we hold
    lag: timedelta | None  # now - newest_update_at, or the cursor's age when no case is held yet
    last_error: str
    last_error_at: datetime | None
    consecutive_failures: int
    access_token_expires_at: datetime
    authorization_expires_at: datetime  # the refresh token's expiry, or TikTok's announced end if sooner
    never_synced: bool

    @property
    def healthy(self) -> bool:
        return self.status == "active" and self.consecutive_failures == 0


def shop_connections(session: Session, *, now: datetime | None = None) -> list[ShopConnection]:
    """Every TikTok shop ever connected (active or not), by account number."""
    now = now or datetime.now(UTC)
    return [_connection(session, health, now) for health in account_health(session, now=now)]


def _connection(session: Session, health: AccountHealth, now: datetime) -> ShopConnection:
    streams = health.streams
    # One indexed lookup per shop (ix_cases_account_updated): cheap even with a million cases.
    newest = session.scalar(select(func.max(Case.tiktok_update_time)).where(Case.account_id == health.account_id))
    cursors = [s.cursor for s in streams if s.cursor is not None]
    if newest is not None:
        lag: timedelta | None = max(now - newest, timedelta(0))
    elif cursors:
        lag = max(now - min(cursors), timedelta(0))
    else:
        lag = None
    failing = [s for s in streams if s.last_error]
    latest_failure = max(failing, key=lambda s: s.last_error_at or datetime.min.replace(tzinfo=UTC), default=None)
    authorization_ends = health.refresh_token_expires_at
    if health.authorization_expires_at is not None and health.authorization_expires_at < authorization_ends:
        authorization_ends = health.authorization_expires_at
    return ShopConnection(
        account_id=health.account_id,
        shop_id=health.shop_id,
        name=health.shop_name or health.shop_id,
        region=health.region,
        status=health.status,
        status_reason=health.status_reason,
        last_poll_at=_latest(s.last_poll_ok_at for s in streams),
        last_webhook_at=_latest(s.last_webhook_at for s in streams),
        newest_update_at=newest,
        lag=lag,
        last_error=latest_failure.last_error if latest_failure is not None else "",
        last_error_at=latest_failure.last_error_at if latest_failure is not None else None,
        consecutive_failures=max((s.consecutive_failures for s in streams), default=0),
        access_token_expires_at=health.access_token_expires_at,
        authorization_expires_at=authorization_ends,
        never_synced=all(s.last_poll_ok_at is None for s in streams),
    )


def _latest(moments: Iterable[datetime | None]) -> datetime | None:
    present = [moment for moment in moments if moment is not None]
    return max(present) if present else None
