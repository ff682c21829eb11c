"""Notification settings (one row), the log of every attempt to notify, and what a digest reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from returnbridge.db.models import (
    Case,
    NotificationLog,
    NotificationSettings,
    OrderSyncState,
    StoreEffect,
    SyncState,
    TikTokAccount,
    utcnow,
)

SETTINGS_ID = 1
LISTED = 20


@dataclass(frozen=True)
class DueCase:
    id: int
    tiktok_id: str
    account: str
    type: str
    status: str
    deadline: datetime | None


@dataclass(frozen=True)
class Failure:
    what: str  # "TikTok returns sync", "Store refund", ...
    where: str  # account or store
    detail: str
    at: datetime | None


class NotificationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def settings(self, *, for_update: bool = False) -> NotificationSettings:
        row = self.session.get(NotificationSettings, SETTINGS_ID, with_for_update=for_update)
        if row is None:
            row = NotificationSettings(id=SETTINGS_ID)
            self.session.add(row)
            self.session.flush()
        return row

    def log(self, channel: str, kind: str, ok: bool, detail: str) -> None:
        self.session.add(NotificationLog(at=utcnow(), channel=channel, kind=kind, ok=ok, detail=detail[:4000]))

    def recent_log(self, limit: int = 30) -> list[NotificationLog]:
        return list(self.session.scalars(select(NotificationLog).order_by(NotificationLog.id.desc()).limit(limit)))

    def due_cases(self, before: datetime) -> tuple[int, list[DueCase]]:
        """Cases awaiting the merchant whose deadline is before ``before`` (overdue ones too), soonest first."""
        where = (Case.needs_action.is_(True), Case.seller_deadline.is_not(None), Case.seller_deadline <= before)
        count = self.session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
        rows = self.session.execute(
            select(Case.id, Case.tiktok_id, TikTokAccount.shop_name, Case.type, Case.tiktok_status,
                   Case.seller_deadline)
            .join(TikTokAccount, TikTokAccount.id == Case.account_id)
            .where(*where).order_by(Case.seller_deadline, Case.id).limit(LISTED)
        )
        return int(count), [DueCase(*row) for row in rows]

    def failures(self) -> list[Failure]:
        """Syncs whose last attempt failed, and store effects held or failed."""
        found: list[Failure] = []
        for state, shop in self.session.execute(
            select(SyncState, TikTokAccount.shop_name).join(TikTokAccount, TikTokAccount.id == SyncState.account_id)
            .where(SyncState.consecutive_failures > 0).order_by(SyncState.account_id, SyncState.stream)
        ):
            found.append(Failure(f"TikTok {state.stream} sync ({state.consecutive_failures} failures in a row)",
                                 shop, state.last_error, state.last_error_at))
        for state, shop in self.session.execute(
            select(OrderSyncState, TikTokAccount.shop_name)
            .join(TikTokAccount, TikTokAccount.id == OrderSyncState.account_id).where(OrderSyncState.last_error != "")
        ):
            found.append(Failure("TikTok orders sync", shop, state.last_error, state.last_ok_at))
        effects = self.session.scalars(
            select(StoreEffect).where(or_(StoreEffect.state == "held", StoreEffect.state == "failed"))
            .order_by(StoreEffect.updated_at.desc()).limit(LISTED)
        )
        for effect in effects:
            found.append(Failure(f"Store {effect.kind} {effect.state} (case {effect.case_id})",
                                 f"store {effect.store_id}", effect.held_reason or effect.last_error,
                                 effect.updated_at))
        return found
