"""Sync Returns runs: created by the web process, advanced by whoever pulls, read by every progress stream."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from returnbridge.db.models import SyncRun


def create(session: Session, *, started_by: str, account_ids: list[int], shops: list[dict[str, Any]]) -> SyncRun:
    now = datetime.now(UTC)
    run = SyncRun(started_by=started_by, account_ids=account_ids, shops=shops, state="running", received=0,
                  total=None, created=0, started_at=now, heartbeat_at=now, error="")
    session.add(run)
    session.flush()
    return run

def get(session: Session, run_id: int, *, for_update: bool = False) -> SyncRun | None:
    stmt = select(SyncRun).where(SyncRun.id == run_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()

def live_running(session: Session, *, alive_after: datetime) -> list[SyncRun]:
    """Runs still running whose puller gave a sign of life after ``alive_after``, newest first."""
    stmt = (
        select(SyncRun)
        .where(SyncRun.state == "running", SyncRun.heartbeat_at > alive_after)
        .order_by(SyncRun.id.desc())
    )
    return list(session.scalars(stmt))

def abandon_dead(session: Session, *, silent_since: datetime) -> int:
    """Mark failed the runs whose puller went silent (its process died): they would otherwise look busy forever."""
    stmt = select(SyncRun).where(SyncRun.state == "running", SyncRun.heartbeat_at <= silent_since).with_for_update()
    dead = list(session.scalars(stmt))
    for run in dead:
        run.state = "failed"
        run.error = "The process running this sync stopped before it finished."
        run.finished_at = datetime.now(UTC)
    session.flush()
    return len(dead)


def recent(session: Session, limit: int = 10) -> list[SyncRun]:
    return list(session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(limit)))
