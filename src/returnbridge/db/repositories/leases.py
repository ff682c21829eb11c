"""Named, expiring locks in the database: one holder at a time, and a dead holder's lease simply runs out."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from returnbridge.db.models import Lease


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(Lease)


def try_acquire(session: Session, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
    """Take the lease if it is free or expired (or already ours); atomic in one statement on both dialects."""
    stmt = _insert(session).values(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Lease.name],
        set_={"holder": holder, "acquired_at": now, "expires_at": now + ttl},
        where=(Lease.expires_at < now) | (Lease.holder == holder),
    ).returning(Lease.holder)
    return session.execute(stmt).first() is not None


def renew(session: Session, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
    """Extend our lease; False when it is no longer ours (it expired and someone else took it)."""
    result = session.execute(
        update(Lease).where(Lease.name == name, Lease.holder == holder).values(expires_at=now + ttl)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def release(session: Session, name: str, holder: str) -> None:
    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
