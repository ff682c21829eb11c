"""The webhook inbox: storing signed notifications once, and the state of their processing.

The intake writes with a Core connection (its own short transaction, outside any session); processing goes through
``WebhookInboxStore`` on a session. Every state change is guarded by ``state = 'pending'``, so when two runs of the
same webhook race, the first result stands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from returnbridge.db.models import Case, QuarantinedRecord, SyncState, TikTokAccount, WebhookInbox

PENDING = "pending"
FAILED = "failed"


def _insert_for(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def insert_new_notifications(connection: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert notifications not stored yet (one multi-row INSERT … ON CONFLICT DO NOTHING); the ids of the new
    ones, by notification id."""
    table = WebhookInbox.__table__
    stmt = (
        _insert_for(connection.dialect.name)(table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[table.c.notification_id])
        .returning(table.c.id, table.c.notification_id)
    )
    return {notification_id: int(inbox_id) for inbox_id, notification_id in connection.execute(stmt)}


def quarantine_webhook(
    connection: Connection, *, payload: str, shop_id: str, notification_id: str, error: str, received_at: datetime
) -> bool:
    """Keep an unparseable signed body; the same bytes twice (a replay, a duplicate delivery) are kept once.
    Gives whether it was new."""
    table = QuarantinedRecord.__table__
    seen = connection.scalar(
        select(table.c.id).where(table.c.source == "webhook", table.c.payload == payload).limit(1)
    )
    if seen is not None:
        return False
    account_id = None
    if shop_id:
        account_id = connection.scalar(select(TikTokAccount.id).where(TikTokAccount.shop_id == shop_id))
    connection.execute(
        table.insert().values(
            account_id=account_id, source="webhook", tiktok_id=notification_id, payload=payload, error=error,
            received_at=received_at,
        )
    )
    return True


class WebhookInboxStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, inbox_id: int) -> WebhookInbox | None:
        return self.session.get(WebhookInbox, inbox_id)

    def mark(self, inbox_id: int, state: str, reason: str, *, now: datetime) -> None:
        """Finish a pending webhook; if another run finished it first, its result stands."""
        self.session.execute(
            update(WebhookInbox)
            .where(WebhookInbox.id == inbox_id, WebhookInbox.state == PENDING)
            .values(state=state, last_error=reason, processed_at=now)
        )

    def count_failure(self, inbox_id: int, reason: str, *, max_attempts: int, now: datetime) -> str:
        """Count a failed run: still pending for the sweep, or failed at ``max_attempts``; gives the state."""
        attempts = WebhookInbox.attempts + 1
        self.session.execute(
            update(WebhookInbox)
            .where(WebhookInbox.id == inbox_id, WebhookInbox.state == PENDING)
            .values(
                attempts=attempts,
                last_error=reason,
                state=case((attempts >= max_attempts, FAILED), else_=PENDING),
                processed_at=case((attempts >= max_attempts, now), else_=None),
            )
        )
        return str(self.session.scalar(select(WebhookInbox.state).where(WebhookInbox.id == inbox_id)))

    def pending(self, older_than: datetime, *, limit: int = 500) -> list[int]:
        """Ids of webhooks still pending that arrived before ``older_than``, oldest first."""
        stmt = (
            select(WebhookInbox.id)
            .where(WebhookInbox.state == PENDING, WebhookInbox.received_at < older_than)
            .order_by(WebhookInbox.received_at, WebhookInbox.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def record_seen(self, account_id: int, stream: str, received_at: datetime) -> None:
        """Move ``last_webhook_at`` of the account's stream forward (never back: processing order is not arrival
        order)."""
        table = SyncState.__table__
        self.session.execute(
            _insert_for(self.session.get_bind().dialect.name)(table)
            .values(account_id=account_id, stream=stream, last_webhook_at=received_at, backfill_done=False,
                    last_error="", consecutive_failures=0)
            .on_conflict_do_nothing(index_elements=[table.c.account_id, table.c.stream])
        )
        self.session.execute(
            update(SyncState)
            .where(
                SyncState.account_id == account_id,
                SyncState.stream == stream,
                (SyncState.last_webhook_at.is_(None)) | (SyncState.last_webhook_at < received_at),
            )
            .values(last_webhook_at=received_at)
        )

    def case_update_time(self, account_id: int, kind: str, tiktok_id: str) -> datetime | None:
        """TikTok's update time of the case we hold, to spot a webhook that announces an older state."""
        return self.session.scalar(
            select(Case.tiktok_update_time).where(
                Case.account_id == account_id, Case.kind == kind, Case.tiktok_id == tiktok_id
            )
        )
