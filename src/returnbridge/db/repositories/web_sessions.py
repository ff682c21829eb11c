"""Signed-in browsers. The cookie's token never reaches the database: only its SHA-256 does."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from returnbridge.db.models import User, WebSession


class WebSessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, token_hash: str, user_id: int, csrf_secret: str, now: datetime, expires_at: datetime,
            ip: str, user_agent: str) -> WebSession:
        row = WebSession(token_hash=token_hash, user_id=user_id, csrf_secret=csrf_secret, created_at=now,
                         last_seen_at=now, expires_at=expires_at, ip=ip[:64], user_agent=user_agent[:255])
        self.session.add(row)
        self.session.flush()
        return row

    def find(self, token_hash: str) -> tuple[WebSession, User] | None:
        stmt = select(WebSession, User).join(User, User.id == WebSession.user_id).where(
            WebSession.token_hash == token_hash
        )
        found = self.session.execute(stmt).first()
        return (found[0], found[1]) if found is not None else None

    def remove(self, session_id: int) -> None:
        self.session.execute(delete(WebSession).where(WebSession.id == session_id))

    def remove_for_user(self, user_id: int, *, keep: int | None = None) -> int:
        """Sign a user out everywhere (except the session ``keep``): after a password change, disable or reset."""
        stmt = delete(WebSession).where(WebSession.user_id == user_id)
        if keep is not None:
            stmt = stmt.where(WebSession.id != keep)
        return int(self.session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]

    def remove_expired(self, now: datetime) -> int:
        return int(self.session.execute(delete(WebSession).where(WebSession.expires_at <= now)).rowcount or 0)  # type: ignore[attr-defined]
